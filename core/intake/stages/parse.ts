import { simpleParser, type ParsedMail } from 'mailparser';

import { authorOf } from '../headers';
import { inspectMimeStructure, MAX_MIME_DEPTH } from '../mime-structure';
import type { Flag } from '../../flags';
import { SMTP_REPLIES } from '../../replies';
import { decision, note, type IntakeStage, type IntakeState } from '../state';
import { MAX_HEADER_BYTES } from './size';

/**
 * Options shared by every mailparser call: cid links stay cid (attachments travel as binary data); no HTML made
 * from the text (nothing reads it, and linkifying attacker text costs a multiple of parsing it).
 */
const PARSER_OPTIONS = { keepCidLinks: true, ignoreEmbedded: true, skipTextToHtml: true, maxHeadSize: MAX_HEADER_BYTES } as const;

/** Parses only the header section: enough for sender, subject and thread keys when the body cannot be read. */
export async function parseHeaderSection(raw: Buffer, headerBytes: number): Promise<ParsedMail> {
	return await simpleParser(raw.subarray(0, headerBytes), { ...PARSER_OPTIONS, maxHeadSize: Math.max(MAX_HEADER_BYTES, headerBytes * 2) });
}

export async function parseMessage(raw: Buffer): Promise<ParsedMail> {
	return await simpleParser(raw, PARSER_OPTIONS);
}

/**
 * A message whose author cannot be told is quarantined or refused per the inbox: DMARC cannot check it,
 * and filing it under the envelope sender would let anyone pick the contact.
 */
function holdWithoutAuthor(state: IntakeState, flag: Flag, problem: string): void {
	const setting = state.inbox.onMalformedFrom;
	const reason = `${problem}: a message must name exactly one author for DMARC to check it and to be filed under a contact (never under the envelope sender); ${setting === 'reject' ? 'refused' : 'quarantined'} (inbox onMalformedFrom: ${setting})`;
	note(state, flag);
	state.decisions.push(setting === 'reject' ? decision('reject', SMTP_REPLIES.refusedByPolicy(reason)) : decision('quarantine', SMTP_REPLIES.accepted(reason)));
}

function checkAuthor(state: IntakeState, parsed: ParsedMail): void {
	const { problem } = authorOf(parsed);
	if (problem) holdWithoutAuthor(state, 'from-not-one-mailbox', problem);
}

async function parseWhole(state: IntakeState): Promise<void> {
	state.structure = await inspectMimeStructure(state.raw, MAX_HEADER_BYTES);
	const { structure } = state;
	if (structure.maxDepth > MAX_MIME_DEPTH) {
		note(
			state,
			'mime-too-deep',
			`MIME tree is ${structure.maxDepth} levels deep (more than ${MAX_MIME_DEPTH}): not a structure a mail client writes; parts below are read as far as the parser could`,
		);
	}
	for (const problem of structure.encodingProblems) note(state, 'bad-transfer-encoding', problem);
	try {
		state.parsed = await parseMessage(state.raw);
	} catch (error) {
		try {
			// Within the parser's usual limits: a header section past them is neither read nor authenticated.
			state.parsed = await parseMessage(state.raw.subarray(0, state.headerBytes));
		} catch (headerError) {
			state.bodySkipped = 'the header section cannot be read';
			holdWithoutAuthor(state, 'header-unreadable', `the header section cannot be read (${(headerError as Error).message})`);
			return;
		}
		note(
			state,
			'mime-parse-error',
			`MIME structure could not be parsed (${(error as Error).message}); only the header section was read`,
		);
	}
	checkAuthor(state, state.parsed);
	if (structure.error && !state.flags.has('mime-parse-error')) {
		note(state, 'mime-parse-error', `MIME structure is broken (${structure.error})`);
	}
	if (state.parsed.textConversionError) {
		note(state, 'html-not-converted', `HTML body could not be turned into text (${state.parsed.textConversionError.message})`);
	}
}

/** Parse: mailparser for the message, plus a structure pass for what it does not report (depth, lying encodings). */
export const parseStage: IntakeStage = {
	name: 'parse',
	async run(state) {
		if (state.bodySkipped) {
			state.parsed = await parseHeaderSection(state.raw, state.headerBytes);
			checkAuthor(state, state.parsed);
			return;
		}
		await parseWhole(state);
	},
};
