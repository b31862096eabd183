/**
 * The console's shared stylesheet, served as /admin/assets/console.css (style-src 'self'; cached).
 * Colours keep a contrast of at least 4.5:1 on their backgrounds; below 40rem the navigation wraps,
 * forms stack and tables scroll inside their .table-wrap instead of widening the page.
 */
export const CONSOLE_CSS = `*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;background:#f4f5f7}
a{color:#0b57b8}a:hover{text-decoration:none}
:focus-visible{outline:3px solid #0b57b8;outline-offset:2px}
/* Read by screen readers, not shown: a table's caption, a label a column of checkboxes needs. */
.visually-hidden{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:2}.skip:focus{left:.5rem}
.top{background:#1b1f24;color:#fff}
.top-inner{max-width:80rem;margin:0 auto;padding:.6rem 1.25rem;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1.5rem}
.brand{font-weight:600;color:#fff;text-decoration:none;font-size:1rem;white-space:nowrap}
.top nav{flex:1}.nav{display:flex;flex-wrap:wrap;gap:.15rem;margin:0;padding:0;list-style:none}
.nav a{display:block;padding:.35rem .7rem;border-radius:4px;color:#dfe3e8;text-decoration:none}
.nav a:hover{background:#343b44;color:#fff}.nav a[aria-current=page]{background:#fff;color:#1b1f24;font-weight:600}
.who{display:flex;align-items:center;gap:.6rem;font-size:.875rem;color:#dfe3e8}
.who form{margin:0}.who button{background:transparent;color:#fff;border:1px solid #8a939e;border-radius:4px;padding:.25rem .6rem;font:inherit;cursor:pointer}
.who button:hover{background:#343b44}
main{max-width:80rem;margin:0 auto;padding:1.25rem 1.25rem 3rem}
h1{font-size:1.5rem;margin:.4rem 0 .25rem}h2{font-size:1.15rem;margin:1.75rem 0 .5rem}h3{font-size:1rem;margin:1rem 0 .4rem}
.lead{margin:0 0 1.25rem;color:#4a535d}
.muted{color:#5a636e}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
.notice{border:1px solid #1f7a3a;background:#e9f6ee;color:#14532a;padding:.6rem .8rem;border-radius:4px;margin:0 0 1rem}
.notice.error{border-color:#b3261e;background:#fdecea;color:#8c1d18}
.error-text{color:#b3261e;font-size:.875rem;margin:.25rem 0 0}
.empty{background:#fff;border:1px dashed #b8c0c9;border-radius:6px;padding:1.25rem;color:#4a535d;text-align:center}
.panel{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:1rem 1.25rem;margin:0 0 1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.75rem;margin:0 0 1rem;padding:0;list-style:none}
.card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.8rem 1rem}
.card .label{font-size:.8rem;color:#4a535d;text-transform:uppercase;letter-spacing:.03em}.card .value{font-size:1.6rem;font-weight:600;margin-top:.1rem}
.table-wrap{overflow-x:auto;background:#fff;border:1px solid #d8dde3;border-radius:6px;margin:0 0 1rem}
.table{border-collapse:collapse;width:100%;font-size:.9rem}
.table th,.table td{text-align:left;padding:.5rem .75rem;border-bottom:1px solid #e6e9ed;vertical-align:top}
.table th{background:#f8f9fa;font-weight:600;white-space:nowrap}.table tr:last-child td{border-bottom:0}
.table td.num,.table th.num{text-align:right;font-variant-numeric:tabular-nums}
.table td.wrap{overflow-wrap:anywhere;min-width:12rem}
.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end;background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.8rem 1rem;margin:0 0 1rem}
.filters .field{margin:0;min-width:9rem;flex:1 1 9rem}
.field{display:block;margin:0 0 1rem}.field label,.field .label{display:block;font-weight:600;font-size:.875rem;margin-bottom:.25rem}
.field .hint{font-size:.8rem;color:#5a636e;margin:.2rem 0 0}
input[type=text],input[type=password],input[type=search],input[type=number],input[type=date],input[type=datetime-local],input[type=url],select,textarea{width:100%;padding:.45rem .55rem;font:inherit;border:1px solid #8a939e;border-radius:4px;background:#fff;color:#1b1f24}
textarea{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;min-height:12rem}
[aria-invalid=true]{border-color:#b3261e;box-shadow:0 0 0 1px #b3261e}
.check{display:flex;gap:.4rem;align-items:center;margin:.25rem 0}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.75rem 0}
.actions form{margin:0}
.btn{display:inline-block;padding:.45rem .9rem;font:inherit;font-weight:600;border-radius:4px;border:1px solid #0b57b8;background:#0b57b8;color:#fff;text-decoration:none;cursor:pointer;line-height:1.3}
.btn:hover{background:#094a9c}.btn-secondary{background:#fff;color:#0b57b8}.btn-secondary:hover{background:#eef4fc}
.btn-danger{background:#b3261e;border-color:#b3261e;color:#fff}.btn-danger:hover{background:#8c1d18}
.btn-small{padding:.2rem .55rem;font-size:.85rem}
.badge{display:inline-block;font-size:.75rem;font-weight:600;padding:.1rem .45rem;border-radius:999px;border:1px solid #8a939e;color:#343b44;background:#fff;white-space:nowrap;margin:0 .2rem .2rem 0}
.badge.ok{border-color:#1f7a3a;color:#14532a;background:#e9f6ee}.badge.warn{border-color:#8a5a00;color:#6b4500;background:#fff4de}.badge.bad{border-color:#b3261e;color:#8c1d18;background:#fdecea}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}dl.facts dt{color:#4a535d}dl.facts dd{margin:0;min-width:0;overflow-wrap:anywhere}
.pager{display:flex;gap:.75rem;align-items:center;margin:.5rem 0 1rem}
pre{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.8rem 1rem;overflow:auto;font-size:.85rem;max-height:36rem}
.signin{max-width:26rem;margin:4rem auto;background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:1.5rem}
.signin h1{margin-top:0}
@media (max-width:40rem){main{padding:1rem .75rem 2rem}.top nav{flex:1 1 100%}.top-inner{padding:.5rem .75rem}.who{width:100%;justify-content:space-between}
dl.facts{grid-template-columns:1fr;gap:0}dl.facts dd{margin-bottom:.5rem}.filters .field{flex-basis:100%}.signin{margin:1.5rem .75rem}}`;
