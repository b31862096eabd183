import { html, raw } from './html';

describe('html template', () => {
  it('escapes interpolated strings, in text and in attributes', () => {
    const name = `<script>alert("x")</script>' onmouseover='`;
    expect(html`<p title="${name}">${name}</p>`.toString()).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;</p>',
    );
  });

  it('keeps nested templates and raw constants, joins arrays and drops null/undefined/false', () => {
    const rows = ['a<b', 'c'].map((v) => html`<li>${v}</li>`);
    const out = html`<ul>${rows}</ul>${null}${undefined}${false}${raw('<hr>')}${0}${['x&', html`<i>y</i>`]}`;
    expect(out.toString()).toBe('<ul><li>a&lt;b</li><li>c</li></ul><hr>0x&amp;<i>y</i>');
  });
});
