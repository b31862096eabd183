import { parsePendingMfa } from './pending-mfa';

describe('parsePendingMfa', () => {
  const base = { provider: 'mfa-gauth', username: 'alice', attributes: {}, rememberMe: false, publicWorkstation: false, warn: false, failures: 0 };

  it('keeps the devices the code page carries', () => {
    const gauthDevices = [{ id: '0b5e5f5a-4d1e-4c9b-9b1a-2f0e7d8c6a51', secret: 'eyJ.x.y.z' }];
    expect(parsePendingMfa({ ...base, gauthDevices })).toEqual({ ...base, handler: undefined, warning: undefined, method: undefined, stepUpSession: undefined, enrolCredentialId: undefined, gauthDevices });
    expect(parsePendingMfa(base)).not.toHaveProperty('gauthDevices');
  });

  it('refuses carried devices of the wrong shape', () => {
    for (const gauthDevices of [{}, 'x', [{ id: 1, secret: 'x' }], [{ id: 'x' }], [null]]) expect(parsePendingMfa({ ...base, gauthDevices })).toBeNull();
  });
});
