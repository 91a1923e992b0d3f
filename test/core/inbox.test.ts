import { inboxWarnings, parseInboxConfig, DEFAULT_MAX_MESSAGE_BYTES } from '../../core/inbox';

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
		expect(inbox.trustedListDomains).toEqual(['googlegroups.com']);
	});

	it('warns when trusted authserv-ids cannot be believed on the SMTP door (no trusted relay), not on the IMAP door', () => {
		const idsOnly = parseInboxConfig({ address: 'support@inbox.example.test', trustedAuthservIds: ['mx.company.test'] });
		expect(inboxWarnings(idsOnly, 'smtp')).toEqual([expect.stringContaining('mx.company.test) are ignored without Trusted Relays')]);
		expect(inboxWarnings(idsOnly, 'imap')).toEqual([]);
		const relaysOnly = parseInboxConfig({ address: 'support@inbox.example.test', trustedRelays: ['192.0.2.0/24'] });
		expect(inboxWarnings(relaysOnly, 'smtp')).toEqual([expect.stringContaining('have no authserv-id')]);
		const both = parseInboxConfig({ address: 'support@inbox.example.test', trustedRelays: ['192.0.2.0/24'], trustedAuthservIds: ['mx.company.test'] });
		expect(inboxWarnings(both, 'smtp')).toEqual([]);
	});

	it('names the wrong field', () => {
		expect(() => parseInboxConfig({ address: 'x', dmarcPolicy: 'strict' })).toThrow(/address: .*; dmarcPolicy/);
	});
});
