import type { ParsedMail } from 'mailparser';

import { isEmailAddress } from '../../address';
import { LOOP_HEADER } from '../../flags';
import { tokenBelongsTo } from '../../forwarding/token';
import { isOwnMessageId } from '../../store/message-id';
import { addressesOf, firstHeader, headerTexts } from '../headers';
import type { IntakeStage, IntakeState } from '../state';
import { note } from '../state';
import type { MessageKind, Verification } from '../types';

/** The header a forwarding test sent by this package carries; core/forwarding checks the token against the store. */
export const FORWARDING_TEST_HEADER = 'x-hosted-inbox-verify';

/** The message's test token when it is bound to this inbox; a shape check only (anyone can mint one): the store's check decides (core/forwarding/complete). */
export function forwardingTestToken(parsed: ParsedMail | null, inboxAddress: string): string | null {
	const token = firstHeader(parsed, FORWARDING_TEST_HEADER);
	return token && tokenBelongsTo(token, inboxAddress) ? token : null;
}

const GOOGLE_FORWARDING_SENDER = 'forwarding-noreply@google.com';
/** What of a Google confirmation's text is read for its code, link and requester. */
const CONFIRMATION_TEXT = 64 * 1024;
/** Only the confirm link counts: `vf-` verifies, `uf-` cancels the request. */
const GOOGLE_CONFIRM_URL = /https:\/\/(?:mail-settings\.google\.com|mail\.google\.com)\/mail\/(?:u\/\d+\/)?vf-[^\s"'<>)\]]+/i;

/**
 * Addresses in free text: the words between separators that end in a letters-only top-level domain, once any
 * trailing punctuation is dropped. One split and one look at each word, so "a@a@a@…" costs no more than prose.
 */
function addressesIn(text: string): string[] {
	return text
		.split(/[\s<>()"',;:]+/)
		.map((word) => {
			let end = word.length;
			while (end > 0 && !/[A-Za-z]/.test(word[end - 1])) end--;
			return word.slice(0, end).toLowerCase();
		})
		.filter((word) => /\.[a-z]{2,}$/.test(word) && isEmailAddress(word));
}

/** Gmail and Google Workspace confirmations: the subject is localised and may carry an organisation name. */
function googleForwardingConfirmation(parsed: ParsedMail, inboxAddress: string): Verification | null {
	const from = addressesOf(parsed.from)[0]?.address;
	if (from !== GOOGLE_FORWARDING_SENDER) return null;
	const subject = parsed.subject ?? '';
	// A confirmation is a few KB: its start is read, so a forged one of 25 MB costs no array of its words.
	const text = (parsed.text ?? '').slice(0, CONFIRMATION_TEXT);
	const body = [text, typeof parsed.html === 'string' ? parsed.html.slice(0, CONFIRMATION_TEXT) : ''].join('\n');
	const confirmUrl = GOOGLE_CONFIRM_URL.exec(body)?.[0].replace(/&amp;/g, '&') ?? null;
	// "(#123456789) ..." in the subject; else a "<label>: 123456789" line in the body (never a URL parameter).
	const code = /\(#\s*(\d{5,12})\)/.exec(subject)?.[1] ?? /[:：]\s*(\d{6,12})\b/.exec(text)?.[1] ?? null;
	if (!confirmUrl && !code) return null;
	const candidates = [...addressesIn(subject), ...addressesIn(text)].filter((a) => a !== inboxAddress && a !== GOOGLE_FORWARDING_SENDER);
	return { provider: 'google', code, confirmUrl, requestedBy: candidates[0] ?? null };
}

function isBounce(state: IntakeState, parsed: ParsedMail): string | null {
	const contentType = parsed.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
	if (/^multipart\/report$/i.test(contentType?.value ?? '') && /^delivery-status$/i.test(contentType?.params?.['report-type'] ?? '')) {
		return 'multipart/report; report-type=delivery-status (a DSN)';
	}
	const from = addressesOf(parsed.from)[0]?.address ?? '';
	if (/^(mailer-daemon|postmaster)@/i.test(from)) return `sent by ${from}`;
	const returnPath = firstHeader(parsed, 'return-path');
	const nullSender = state.envelope.mailFrom === '' || /^<\s*>$/.test(returnPath ?? '');
	if (nullSender && (headerTexts(parsed, 'x-failed-recipients').length || /mail delivery (sub)?system/i.test(firstHeader(parsed, 'from') ?? ''))) {
		return 'empty return path from a mail delivery system';
	}
	return null;
}

function isAutoReply(parsed: ParsedMail): string | null {
	const autoSubmitted = firstHeader(parsed, 'auto-submitted');
	if (autoSubmitted && !/^no\b/i.test(autoSubmitted)) return `Auto-Submitted: ${autoSubmitted}`;
	const xAutoreply = firstHeader(parsed, 'x-autoreply');
	if (xAutoreply && !/^(no|false|0)$/i.test(xAutoreply)) return `X-Autoreply: ${xAutoreply}`;
	if (firstHeader(parsed, 'x-autorespond')) return 'X-Autorespond header';
	const suppress = firstHeader(parsed, 'x-auto-response-suppress');
	if (suppress && firstHeader(parsed, 'x-ms-exchange-inbox-rules-loop')) {
		return 'X-Auto-Response-Suppress with X-MS-Exchange-Inbox-Rules-Loop (an Exchange inbox rule)';
	}
	const precedence = firstHeader(parsed, 'precedence');
	if (precedence && /^auto[_-]reply$/i.test(precedence)) return `Precedence: ${precedence}`;
	if (/^(auto(matic)? ?reply|out of (the )?office|abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[áa]tica)\b/i.test(parsed.subject ?? '')) {
		return `vacation subject "${parsed.subject}"`;
	}
	return null;
}

function classify(state: IntakeState, parsed: ParsedMail): { kind: MessageKind; verification: Verification | null; why: string | null } {
	// The token itself stays out of the result: whoever reads the log or the item could replay it.
	if (forwardingTestToken(parsed, state.inbox.address)) {
		const requestedBy = addressesOf(parsed.to)[0]?.address ?? null;
		return { kind: 'forwarding-test', verification: { provider: 'hosted-inbox', code: null, confirmUrl: null, requestedBy }, why: `${FORWARDING_TEST_HEADER} token` };
	}
	if (headerTexts(parsed, FORWARDING_TEST_HEADER).length) {
		note(state, 'forwarding-test-foreign', `${FORWARDING_TEST_HEADER} carries no token issued for this inbox: taken as an ordinary message`);
	}
	const google = googleForwardingConfirmation(parsed, state.inbox.address);
	if (google) {
		const signedByGoogle = state.authDetails?.passingDkim.some(({ domain }) => domain === 'google.com' || domain.endsWith('.google.com'));
		if (state.authDetails && !signedByGoogle) {
			note(state, 'verification-unauthenticated', 'forwarding confirmation claims to come from Google but carries no passing google.com DKIM signature: check the link before clicking');
		}
		return { kind: 'forwarding-confirmation', verification: google, why: 'Google forwarding confirmation' };
	}
	const bounce = isBounce(state, parsed);
	if (bounce) return { kind: 'bounce', verification: null, why: bounce };
	const autoReply = isAutoReply(parsed);
	if (autoReply) return { kind: 'auto-reply', verification: null, why: autoReply };
	return { kind: 'message', verification: null, why: null };
}

/** Automated, bulk and list mail, and our own mail coming back: flags that keep automatic replies away (RFC 3834). */
function noteAutomation(state: IntakeState, parsed: ParsedMail): void {
	const autoSubmitted = firstHeader(parsed, 'auto-submitted');
	if (autoSubmitted && !/^no\b/i.test(autoSubmitted)) note(state, 'auto-submitted', `Auto-Submitted: ${autoSubmitted.slice(0, 60)} (never answered automatically)`);
	const precedence = firstHeader(parsed, 'precedence')?.trim().toLowerCase();
	if (precedence === 'bulk' || precedence === 'junk') note(state, 'bulk', `Precedence: ${precedence} (never answered automatically)`);
	// mailparser folds List-* fields into one "list" object: their raw lines tell which are there.
	const listHeader = parsed.headerLines.find((h) => h.key === 'list-id' || h.key === 'list-unsubscribe' || h.key === 'list-post')?.key;
	if (precedence === 'list' || listHeader) note(state, 'list', `${listHeader ?? 'Precedence: list'}: list mail (never answered automatically)`);
	if (headerTexts(parsed, LOOP_HEADER).length) note(state, 'loop', `${LOOP_HEADER}: our own mail coming back (never answered automatically)`);
	const messageId = firstHeader(parsed, 'message-id');
	if (messageId && isOwnMessageId(messageId)) note(state, 'own-mail', 'the Message-ID is one of ours: our own mail coming back (never answered automatically)');
}

/** Classification: provider confirmations and our own test first, then bounces (they are auto-submitted too), then auto-replies. */
export const classifyStage: IntakeStage = {
	name: 'classify',
	run(state) {
		if (!state.parsed) return;
		noteAutomation(state, state.parsed);
		const { kind, verification, why } = classify(state, state.parsed);
		state.kind = kind;
		state.verification = verification;
		if (why) state.reasons.push(`classified as ${kind}: ${why}`);
	},
};
