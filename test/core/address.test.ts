import { domainOf, isEmailAddress } from '../../core/address';
import { parseInboxConfig } from '../../core/inbox';
import { emailAddress } from '../../core/outbound/validate';
import { checkEmail } from '../../core/store/validate';

const ADDRESSES = ['jane@example.com', 'Jane.Doe+x@Example.COM', "o'brien@mail.customer.test", 'a!#$%&*/=?^_`{|}~-b@x-1.example.test', `${'l'.repeat(64)}@example.test`];
const NOT_ADDRESSES = [
	'',
	'jane',
	'@example.com',
	'jane@',
	'jane@localhost',
	'jane@example.',
	'jane@.example.com',
	'jane@example..com',
	'jane@-bad.test',
	'jane@bad-.test',
	'jane@exa_mple.test',
	'.jane@example.com',
	'jane.@example.com',
	'ja..ne@example.com',
	'ja ne@example.com',
	'"ja ne"@example.com',
	'jane@[192.0.2.1]',
	'jörg@example.de',
	'jane@exämple.de',
	'Jane <jane@example.com>',
	'jane@example.com, bob@example.com',
	'jane@example.com\r\nBcc: x@y.test',
	'carol\0@customer.test',
	'carol@customer.test\r',
	`${'l'.repeat(65)}@example.test`,
	`jane@${'l'.repeat(64)}.test`,
	`${'l'.repeat(64)}@${`${'d'.repeat(60)}.`.repeat(4)}test`,
];

describe('the one address rule', () => {
	it.each(ADDRESSES)('takes %j', (value) => {
		expect(isEmailAddress(value)).toBe(true);
	});

	it.each(NOT_ADDRESSES)('refuses %j', (value) => {
		expect(isEmailAddress(value)).toBe(false);
	});

	it('is the rule of the store, outbound mail and the inbox settings too (the intake calls it itself)', () => {
		// Each of them trims what a person typed first.
		for (const value of [...ADDRESSES, ...NOT_ADDRESSES].filter((v) => v && v === v.trim())) {
			const taken = isEmailAddress(value);
			expect([value, attempt(() => checkEmail(value, 'contact'))]).toEqual([value, taken]);
			expect([value, attempt(() => emailAddress('To', value))]).toEqual([value, taken]);
			expect([value, attempt(() => parseInboxConfig({ address: value }))]).toEqual([value, taken]);
		}
	});

	it('answers at once on attacker text: the length first, then one pattern per atom or label', () => {
		const hostile = ['a@'.repeat(50_000), `${'!'.repeat(100_000)}@x.test`, `${'a.'.repeat(31)}a.@x.test`, `jane@${'a-'.repeat(31)}.${'-a'.repeat(31)}`, `${'a'.repeat(64)}@${'a'.repeat(63)}.${'a-'.repeat(62)}`];
		const started = Date.now();
		const taken = hostile.map((value) => {
			for (let i = 1; i < 1000; i++) isEmailAddress(value);
			return isEmailAddress(value);
		});
		expect(Date.now() - started).toBeLessThan(1000);
		expect(taken).toEqual(hostile.map(() => false));
	});
});

describe('domainOf', () => {
	it('is the lower-cased part after the last "@", or null', () => {
		expect(domainOf('Jane.Doe@Mail.Example.COM')).toBe('mail.example.com');
		expect(domainOf('"a@b"@example.test')).toBe('example.test');
		expect(domainOf('@example.test')).toBe('example.test');
		expect(domainOf('postmaster')).toBeNull();
		expect(domainOf('')).toBeNull();
		expect(domainOf(null)).toBeNull();
		expect(domainOf(undefined)).toBeNull();
	});
});

function attempt(run: () => unknown): boolean {
	try {
		run();
		return true;
	} catch {
		return false;
	}
}
