import { SMTP_REPLIES } from '../../replies';
import { decision, note, type IntakeStage } from '../state';

/** mailparser's own per-part header limit; larger header sections are refused like Exchange does (552 5.3.4). */
export const MAX_HEADER_BYTES = 1024 * 1024;

export function formatBytes(bytes: number): string {
	if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) ? 1 : 0)} MB`;
	if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes % 1024 ? 1 : 0)} KB`;
	return `${bytes} bytes`;
}

/** Size: the whole message against the inbox limit, and the header section against what a parser can take. */
export const sizeStage: IntakeStage = {
	name: 'size',
	run(state) {
		const limit = state.inbox.maxMessageBytes;
		if (state.message.size > limit) {
			const reason = `message is ${state.message.size} bytes (${formatBytes(state.message.size)}), over this inbox's limit of ${limit} bytes (${formatBytes(limit)}), attachments included; send large files as links`;
			state.decisions.push(decision('reject', SMTP_REPLIES.tooLarge(reason)));
			note(state, 'too-large');
			state.bodySkipped = 'the message is over the size limit';
		}
		if (state.headerBytes > MAX_HEADER_BYTES) {
			const reason = `header section is ${state.headerBytes} bytes (${formatBytes(state.headerBytes)}), over the ${formatBytes(MAX_HEADER_BYTES)} a header section may take`;
			state.decisions.push(decision('reject', SMTP_REPLIES.tooLarge(reason)));
			note(state, 'header-too-large');
			state.bodySkipped = 'the header section is over the size limit';
		}
	},
};
