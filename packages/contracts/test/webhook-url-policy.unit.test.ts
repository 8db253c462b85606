// The API-time webhook URL check with the resolver as a parameter: what it decides for each
// DNS answer (the real resolver, and the real sockets, are in the gateway's and notifier's
// webhook tests).
import { WebhookUrlRefusedError, checkWebhookUrl, type ResolveAll } from '@transcribe/contracts';

const answering =
  (...addresses: string[]): ResolveAll =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
const options = (resolve: ResolveAll) => ({ allowPrivate: false, dnsTimeoutMs: 200, resolve });

describe('checkWebhookUrl', () => {
  it('allows a name whose every address is public', async () => {
    await expect(
      checkWebhookUrl('https://hooks.example.com/x', options(answering('93.184.215.14'))),
    ).resolves.toBe('allowed');
  });

  it('refuses a name with any private address among public ones (a rebinding setup)', async () => {
    const refusal = await checkWebhookUrl(
      'https://hooks.example.com/x',
      options(answering('93.184.215.14', '169.254.169.254')),
    ).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(WebhookUrlRefusedError);
    expect(refusal).toMatchObject({
      code: 'webhook_url_refused',
      address: { address: '169.254.169.254', range: 'linkLocal' },
    });
  });

  it('answers unresolved, not refused, when DNS does not answer within the timeout', async () => {
    // A lookup that never answers: only the timeout can settle the check.
    const hanging: ResolveAll = () => new Promise(() => undefined);
    await expect(checkWebhookUrl('https://slow.example.com/x', options(hanging))).resolves.toBe(
      'unresolved',
    );
  });

  it('answers unresolved when the name does not exist', async () => {
    const missing: ResolveAll = () =>
      Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    await expect(checkWebhookUrl('https://nope.example.com/x', options(missing))).resolves.toBe(
      'unresolved',
    );
  });

  it.each([
    ['ftp://hooks.example.com/x', /unsupported scheme/],
    ['https://user:pw@hooks.example.com/x', /credentials/],
    ['not a url', /not a valid URL/],
    ['http://[::1]/x', /::1 is a loopback address/],
  ])('refuses %s without asking DNS', async (url, message) => {
    const never: ResolveAll = () => Promise.reject(new Error('DNS was asked'));
    await expect(checkWebhookUrl(url, options(never))).rejects.toThrow(message);
  });

  it('lets everything through, without DNS, when private targets are allowed', async () => {
    const never: ResolveAll = () => Promise.reject(new Error('DNS was asked'));
    await expect(
      checkWebhookUrl('http://localhost:8080/x', { ...options(never), allowPrivate: true }),
    ).resolves.toBe('allowed');
  });
});
