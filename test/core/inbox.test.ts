import { parseInboxConfig, DEFAULT_MAX_MESSAGE_BYTES } from '../../core/inbox';

describe('inbox configuration', () => {
	it('fills the documented defaults', () => {
		const inbox = parseInboxConfig({ address: 'Support@Inbox.Example.Test' });
		expect(inbox).toMatchObject({
			address: 'support@inbox.example.test',
			dmarcPolicy: 'enforce',
			onDnsError: 'accept',
			maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
		});
		expect(inbox.trustedArcSealers).toContain('google.com');
	});

	it('names the wrong field', () => {
		expect(() => parseInboxConfig({ address: 'x', dmarcPolicy: 'strict' })).toThrow(/address: .*; dmarcPolicy/);
	});
});
