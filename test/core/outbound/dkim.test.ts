import { dkimVerify } from 'mailauth';

import { zoneResolver, type Zone } from '../../../core/dns';
import { buildTeamEmail, type TeamEmail } from '../../../core/outbound/compose';
import { dkimSigned } from '../../../core/outbound/dkim';
import { generateDkimKeyPair } from '../../../core/sending-domain/keys';
import { sendingDomainRecords } from '../../../core/sending-domain/records';

const keys = generateDkimKeyPair();
const key = { domain: 'acme.test', selector: 'hi1', privateKey: keys.privateKey };
const zone: Zone = {};
for (const record of sendingDomainRecords({ domain: key.domain, selector: key.selector, publicKey: keys.publicKey })) zone[record.name] = { TXT: [record.strings] };

const email: TeamEmail = {
	from: { name: 'Ana Lopez at Acme Support', address: 'help@acme.test' },
	to: [{ address: 'jane@customer.test', name: 'Jane Doe' }],
	cc: [],
	subject: 'Re: Order 42',
	text: 'Thanks for writing, we are on it.\n\n-- \nAna  \n',
	html: '<p>Thanks for writing, we are on it.</p>\n<p>Ana</p>',
	messageId: 'hosted-inbox.1@acme.test',
	inReplyTo: ['order-42@customer.test'],
	references: ['order-42@customer.test'],
	automatic: false,
	date: new Date('2026-12-08T10:00:00Z'),
};

const verdict = async (raw: Buffer) => (await dkimVerify(raw, { resolver: zoneResolver(zone) })).results.map((r) => r.status.result);
/** The signed message with `field` put right after the signature, where a reader's client takes it. */
const withField = (raw: Buffer, field: string) => {
	const end = raw.indexOf('\r\nFrom:') + 2;
	return Buffer.concat([raw.subarray(0, end), Buffer.from(`${field}\r\n`), raw.subarray(end)]);
};

describe('DKIM signing of team email', () => {
	it('signs what is sent (line ends as SMTP sends them) so that mailauth verifies it', async () => {
		const raw = await buildTeamEmail({ ...email, text: `${email.text}a bare CR\rhere` }, key);
		expect(raw.toString('latin1')).not.toMatch(/[^\r]\n|\r[^\n]/);
		expect(await verdict(raw)).toEqual(['pass']);
	});

	it('signs the fields a reader sees once more than they occur: a copy with one added no longer verifies', async () => {
		const raw = await buildTeamEmail(email, key);
		const signature = raw.toString('latin1').slice(0, raw.indexOf('\r\nFrom:'));
		expect(signature.replace(/\r\n /g, ' ')).toMatch(/ h=From:from: sender:reply-to:To:to:cc:Subject:subject:/);
		for (const field of ['Subject: Your account is suspended', 'Reply-To: billing@attacker.example', 'Cc: everyone@victims.example', 'From: ceo@acme.test', 'List-Unsubscribe: <https://attacker.example/>']) {
			expect({ field, result: await verdict(withField(raw, field)) }).toEqual({ field, result: ['fail'] });
		}
	});

	it('canonicalizes the body as relaxed/relaxed: blanks at line ends and empty lines at the end do not count', async () => {
		const plain = (body: string) => Buffer.from(`From: help@acme.test\r\nTo: jane@customer.test\r\nSubject: x\r\n\r\n${body}`);
		const signed = dkimSigned(plain('Hello  there \r\nbye\r\n\r\n\r\n'), key, email.date!);
		const relaxedTwin = Buffer.concat([signed.subarray(0, signed.indexOf('\r\n\r\n') + 4), Buffer.from('Hello there\r\nbye\r\n')]);
		expect(await verdict(signed)).toEqual(['pass']);
		expect(await verdict(relaxedTwin)).toEqual(['pass']);
		expect(await verdict(dkimSigned(plain(''), key, email.date!))).toEqual(['pass']);
	});
});
