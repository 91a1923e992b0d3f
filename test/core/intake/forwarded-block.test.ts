import forwardLabels from '../../../core/intake/forward-labels.json';
import { headerLine, isSeparator, SEPARATORS, separatorWords } from '../../../core/intake/forward-header';
import { readForwardedBlock, unlabelledForward, withoutForwardPrefixes, type ForwardedBlock } from '../../../core/intake/forwarded-block';

const block = (...lines: string[]) => ['FYI, see below', '', ...lines, '', 'The original text.'].join('\n');
/** A block that must be read (not one seen and not read). */
function readBlock(text: string, subject: string, depth?: number): ForwardedBlock | null {
	const read = readForwardedBlock(text, subject, depth);
	if (read && 'unreadable' in read) throw new Error(`unreadable: ${read.unreadable}`);
	return read;
}

describe('forward label data', () => {
	it('names a source for every template and prefix, covers at least 30 languages, and says where a client has fewer', () => {
		const sources = Object.keys(forwardLabels.sources);
		for (const entry of [...forwardLabels.templates, ...forwardLabels.subjectPrefixes]) expect(sources).toContain(entry.source);
		const languages = new Set(forwardLabels.templates.map((t) => t.language.split('-')[0]).filter((l) => l !== '*'));
		expect(languages.size).toBeGreaterThanOrEqual(30);
		expect(Object.keys(forwardLabels.coverage)).toEqual(expect.arrayContaining(['Outlook desktop / web / mobile', 'Proton Mail', 'Zoho Mail', 'Spark', 'Samsung Mail']));
	});
});

describe('reading a forwarded block', () => {
	it('reads blocks in languages email-forward-parser lacks, by the separators and labels of the data', () => {
		// K-9 Mail's Greek, Korean and Japanese headers; Thunderbird's Slovenian one.
		const cases: Array<[string[], string, string]> = [
			[['-------- Πρωτότυπο μήνυμα --------', 'Από: Γιάννης <giannis@pelatis.example>', 'Αποστολή: 3/3/2025', 'Προς: agent@company.test', 'Θέμα: Παραγγελία 12'], 'giannis@pelatis.example', 'Παραγγελία 12'],
			[['-------- 원본 메시지 --------', '보낸 사람: 김민수 <minsu@gogaek.example>', '보낸 날짜: 2025-03-03', '받는 사람: agent@company.test', '제목: 주문'], 'minsu@gogaek.example', '주문'],
			[['-------- 元メール --------', '差出人: 佐藤 <sato@kokyaku.example>', '送信日: 2025/03/03', '宛先: agent@company.test', '件名: 請求書'], 'sato@kokyaku.example', '請求書'],
			[['-------- Posredovano sporočilo --------', 'Zadeva: Račun', 'Datum: 3. 3. 2025', 'Od: Ana <ana@stranka.example>', 'Za: agent@company.test'], 'ana@stranka.example', 'Račun'],
		];
		for (const [lines, address, subject] of cases) {
			expect(readForwardedBlock(block(...lines), 'x')).toMatchObject({ address, subject, via: 'forward-labels' });
		}
	});

	it("reads Outlook's block with the underscore rule or with no separator at all, in the user's language", () => {
		const rule = block('________________________________', 'Από: Γιάννης <giannis@pelatis.example>', 'Αποστολή: Δευτέρα', 'Προς: agent@company.test', 'Θέμα: Τιμολόγιο 77');
		expect(readForwardedBlock(rule, 'x')).toMatchObject({ address: 'giannis@pelatis.example', subject: 'Τιμολόγιο 77' });
		const bare = block('Từ: Nguyễn <nguyen@khach.example>', 'Ngày: 3/3/2025', 'Đến: agent@company.test', 'Chủ đề: Hóa đơn 77');
		expect(readForwardedBlock(bare, 'x')).toMatchObject({ address: 'nguyen@khach.example', subject: 'Hóa đơn 77', body: expect.stringContaining('The original text.') });
		// "-----Original Message-----" and a "Name [mailto:…]" From, as Outlook desktop writes them.
		const original = block('-----Original Message-----', 'Od: Jan Kowalski [mailto:jan@klient.example]', 'Wysłane: poniedziałek', 'Do: agent@company.test', 'Temat: Faktura');
		expect(readForwardedBlock(original, 'x')).toMatchObject({ address: 'jan@klient.example', name: 'Jan Kowalski' });
	});

	it('does not open a block on a From line alone (a note that mentions who wrote)', () => {
		expect(readForwardedBlock('From: Carol <carol@customer.test>\nthanks for the quick answer', 'x')).toBeNull();
		expect(readForwardedBlock('From: Carol <carol@customer.test>\nTo: agent@company.test\n\nhi', 'x')).toBeNull();
	});

	it('takes the author only from a From label: a name without an address gives no address, never the To', () => {
		for (const separator of ['---------- Forwarded message ---------', '________________________________']) {
			const text = block(separator, 'From: Carol Customer', 'Date: Mon, 3 Mar 2025', 'Subject: Order 12', 'To: Alex Agent <agent@company.test>', 'Cc: Bob <bob@partner.example>');
			expect(readForwardedBlock(text, 'Fwd: Order 12')).toMatchObject({ address: null, name: 'Carol Customer', subject: 'Order 12' });
		}
		// Thunderbird's order puts the To before nothing else to pick: still no author without a From label, and the
		// forward it saw and could not read says so (nothing below it is taken instead).
		expect(readForwardedBlock(block('-------- Forwarded Message --------', 'Subject: x', 'To: Alex <agent@company.test>', 'Date: Mon'), 'x')).toEqual({ unreadable: expect.any(String) });
	});

	it('strips quote marks at any depth for the block, and reads a quoted forward inside another client\'s forward', () => {
		const inner = ['Begin forwarded message:', '', 'From: Carol <carol@customer.test>', 'Subject: Deep order', 'Date: 3 March 2025', 'To: bob@company.test', '', 'Where is it?'];
		const quoted = (depth: number) => inner.map((line) => `${'> '.repeat(depth)}${line}`.trimEnd());
		for (const depth of [1, 2, 3]) {
			const text = ['see below', '', ...quoted(depth)].join('\n');
			const read = readBlock(text, 'x');
			expect(read).toMatchObject({ address: 'carol@customer.test', subject: 'Deep order' });
			expect(read?.body).toContain('Where is it?');
			expect(read?.body).not.toMatch(/^>/m);
		}
		// Gmail's block carrying Bob's message that quotes an Outlook forward of Carol's mail: each level is read in turn.
		const gmail = [
			'---------- Forwarded message ---------', 'From: Bob <bob@company.test>', 'Date: Tue', 'Subject: Fwd: Invoice', 'To: agent@company.test', '',
			'> Bob wrote, quoting Carol\'s Outlook forward:', '>', '> > ________________________________', '> > Από: Carol <carol@customer.test>', '> > Αποστολή: Δευτέρα',
			'> > Προς: bob@company.test', '> > Θέμα: Invoice', '> >', '> > Pay me',
		].join('\n');
		const outer = readBlock(gmail, 'Fwd: Fwd: Invoice');
		expect(outer).toMatchObject({ address: 'bob@company.test' });
		expect(readForwardedBlock(outer!.body, outer!.subject, 1)).toMatchObject({ address: 'carol@customer.test', subject: 'Invoice', via: 'forward-labels' });
	});

	it('keeps the bounded work: a hostile run of separators and From lines comes back at once', () => {
		const hostile = `${'________________________________\nFrom: a\nSent: b\nTo: c\n'.repeat(4000)}${'> '.repeat(20_000)}From: x\n`;
		const started = Date.now();
		expect(readForwardedBlock(hostile, 'Fwd: x')).toMatchObject({ address: null });
		expect(Date.now() - started).toBeLessThan(2000);
	});
});

describe('a forward header in labels the readers do not know', () => {
	const unknown = (subject: string) => ['Sendinto: Mallory <mallory@partner.example>', 'Sendita: 2025-03-04 09:00', 'Ricevanto: agent@company.test', `Temlinio: ${subject}`];
	const known = ['---------- Forwarded message ---------', 'From: Carol <carol@customer.test>', 'Date: Mon, 3 Mar 2025', 'Subject: New bank details', 'To: mallory@partner.example'];
	const text = (...lines: string[]) => ['for the queue', '', ...lines, '', 'Please pay into the new account.'].join('\n');
	const unreadable = { unreadable: expect.stringContaining('labels the readers do not know') };

	it('uses labels and a separator the data lacks', () => {
		for (const line of unknown('x')) expect(headerLine(line)).toMatchObject({ fields: undefined });
		expect(isSeparator('-------- Plusendita mesaĝo --------')).toBe(true);
		expect(SEPARATORS.has(separatorWords('-------- Plusendita mesaĝo --------'))).toBe(false);
	});

	it('makes a known block below it unreadable when it names an address and the forwarded subject, after the prefix of its own', () => {
		const header = unknown('New bank details');
		for (const lines of [header, ['-------- Plusendita mesaĝo --------', ...header], header.map((line) => `> ${line}`)]) {
			for (const subject of ['PLU: New bank details', 'New bank details', '[PLU: New bank details]', 'Fwd: PLU: new  bank details']) {
				expect(readForwardedBlock(text(...lines, '', ...known), subject)).toEqual(unreadable);
			}
		}
		// Invisible characters the readers drop from the body and a subject keeps (U+FEFF, U+200B, U+0085) do not hide it.
		for (const mark of ['\ufeff', '\u200b', '\u0085']) {
			expect(readForwardedBlock(text(...unknown(`New bank${mark}details`), '', ...known), `PLU: New bank${mark}details`)).toEqual(unreadable);
		}
	});

	it('knows a long subject cut at the line limit, or wrapped onto the next lines', () => {
		const long = `New bank details for all outstanding invoices of the second quarter: please update the supplier master data ${'x'.repeat(80)}`;
		expect(readForwardedBlock(text(...unknown(long), '', ...known), `PLU: ${long}`)).toEqual(unreadable);
		const wrapped = [...unknown(long.slice(0, 30)), long.slice(30, 100), long.slice(100)];
		expect(readForwardedBlock(text(...wrapped, '', ...known), `PLU: ${long}`)).toEqual(unreadable);
		// The subject first (Thunderbird's order), wrapped on lines that are no header lines: the run goes on below them.
		const subjectFirst = [`Temlinio: ${long.slice(0, 20)}`, long.slice(20, 60), long.slice(60), ...unknown('').slice(0, 3)];
		expect(readForwardedBlock(text(...subjectFirst, '', ...known), `PLU: ${long}`)).toEqual(unreadable);
	});

	it('is not hidden by a long From display name, a subject with an address cut off with its line, padding or the next block right below it', () => {
		const W = 'agent@company.test';
		const named = (from: string, subject: string) => ['Sendinto: ' + from, 'Sendita: 2025-03-04 09:00', 'Ricevanto: Alex Agent <agent@company.test>', `Temlinio: ${subject}`];
		// The address past the line's cut: the line keeps a mark that it had one.
		expect(readForwardedBlock(text(...named(`${'Accounts Receivable Department of Partner Example Ltd '.repeat(3)}<mallory@partner.example>`, 'New bank details'), '', ...known), 'PLU: New bank details', 0, W)).toEqual(unreadable);
		const withAddress = `New bank details - questions to billing@partner.example ${'please update the supplier master data accordingly '.repeat(3)}`;
		expect(readForwardedBlock(text(...named('Mallory <mallory@partner.example>', withAddress), '', ...known), `PLU: ${withAddress}`, 0, W)).toEqual(unreadable);
		// Invisible characters or blanks after each character: what the line's cut leaves is the subject's start.
		for (const pad of ['\u2060'.repeat(8), ' '.repeat(8)]) {
			const padded = [...'New bank details for all outstanding invoices of Q2'].map((c) => `${c}${pad}`).join('');
			expect(readForwardedBlock(text(...named('Mallory <mallory@partner.example>', padded), '', ...known), `PLU: ${padded}`, 0, W)).toEqual(unreadable);
		}
		// The known block right below the header (HTML blocks give no blank line between), or on the subject's next line.
		const header = named('Mallory <mallory@partner.example>', 'New bank details');
		expect(readForwardedBlock(['fyi', '', ...header, ...known.slice(1), '', 'Pay'].join('\n'), 'PLU: New bank details', 0, W)).toEqual(unreadable);
		expect(readForwardedBlock(text(...header, 'From: Carol <carol@customer.test>', '', ...known), 'PLU: New bank details From: Carol <carol@customer.test>', 0, W)).toEqual(unreadable);
		expect(readForwardedBlock(text(...named('Mallory <mallory@partner.example>', 'Pay'), 'now', '', ...known), 'PLU: Pay now', 0, W)).toEqual(unreadable);
	});

	it('takes, where the forwarded subject is empty, a header with an empty line for one', () => {
		for (const subject of ['PLU:', 'PLU: ', '']) {
			expect(readForwardedBlock(text(...unknown(''), '', ...known), subject)).toEqual(unreadable);
			expect(readForwardedBlock(text(...unknown('x').slice(0, 3), '', ...known), subject)).toMatchObject({ address: 'carol@customer.test' });
		}
	});

	it("does not take an agent's own lines for one: a signature, a note naming the subject without an address", () => {
		const signature = ['Alex Agent', 'Phone: +1 555 0100', 'Email: agent@company.test', 'Web: company.test'];
		for (const subject of ['Fwd: New bank details', 'Fwd:', 'Fwd: Action required:']) {
			expect(readForwardedBlock(text(...signature, '', ...known), subject)).toMatchObject({ address: 'carol@customer.test' });
		}
		expect(readForwardedBlock(text('Ticket: 4711', 'Subject: New bank details', '', ...known), 'Fwd: New bank details')).toMatchObject({ address: 'carol@customer.test' });
		expect(readForwardedBlock(text('Team: Support', 'Phone: +1 555 0100', '', ...known), 'Fwd: Support')).toMatchObject({ address: 'carol@customer.test' });
		// Two lines naming a team address or the customer, with the subject or a sentence ending in a colon: a note.
		const notes: Array<[string[], string]> = [
			[['Team: Sales', 'Email: sales@company.test'], 'Fwd: Sales'],
			[['Ticket: Order 12', 'Customer: carol@customer.test'], 'Fwd: Order 12'],
			[['Hi Bob, please take this one. Details:', 'Customer: carol@customer.test', 'Phone: +1 555 0100'], 'Fwd:'],
			[['Please see below:', 'Contact: carol@customer.test', 'Phone: +1 555 0100'], 'Fwd: Re:'],
		];
		for (const [note, subject] of notes) expect(readForwardedBlock(text(...note, '', ...known), subject, 0, 'agent@company.test')).toMatchObject({ address: 'carol@customer.test' });
	});

	it('is told apart for a body with no block the readers know (whose attached message is then carried along)', () => {
		expect(readForwardedBlock(text(...unknown('New bank details')), 'PLU: New bank details')).toBeNull();
		expect(unlabelledForward(text(...unknown('New bank details')), 'PLU: New bank details')).toContain('labels the readers do not know');
		expect(unlabelledForward(text('Phone: +1 555 0100', 'Email: agent@company.test'), 'Fwd: New bank details')).toBeNull();
	});

	it('keeps the bounded work: a subject of a megabyte against thousands of header lines', () => {
		const body = ['---------- Forwarded message ---------', 'From: c@customer.test', 'Date: x', 'To: y', '', ...Array.from({ length: 6000 }, () => 'x: a@b')].join('\n');
		const started = Date.now();
		for (const subject of [`PLU: ${'a: '.repeat(300_000)}`, 'a'.repeat(1_000_000)]) {
			unlabelledForward(body, subject);
			readForwardedBlock(body, subject);
		}
		expect(Date.now() - started).toBeLessThan(2000);
	});
});

describe('a forward subject without its prefixes', () => {
	it('strips prefixes of any language in the data, repeated or bracketed, and nothing else', () => {
		expect(withoutForwardPrefixes('Fwd: Fw: WG: Question about invoice 77')).toBe('Question about invoice 77');
		expect(withoutForwardPrefixes('TR: RV: ENC: I: PD: VS: Question')).toBe('Question');
		expect(withoutForwardPrefixes('[Fwd: Question about invoice 77]')).toBe('Question about invoice 77');
		expect(withoutForwardPrefixes('转发: 订单')).toBe('订单');
		expect(withoutForwardPrefixes('Re: Question')).toBe('Re: Question');
		expect(withoutForwardPrefixes('Meeting: tomorrow')).toBe('Meeting: tomorrow');
		expect(withoutForwardPrefixes('Fwd:')).toBe('');
		expect(withoutForwardPrefixes(`${'Fw: '.repeat(50_000)}x`)).toBe('x');
	});
});
