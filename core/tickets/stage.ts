/** The stage a new ticket starts in, and the one a reply that reopens its conversation moves it back to. */
export const DEFAULT_TICKET_STAGE = 'New';

/** The stage that closes a ticket (Close Ticket moves it there; any other stage is open). */
export const CLOSED_TICKET_STAGE = 'closed';

/**
 * A stage as typed, trimmed; "Closed", "CLOSED" or "closed " is the closed stage, kept in its one spelling, so a
 * ticket moved there is closed and one filter finds it however the stage was typed.
 */
export function ticketStage(typed: string): string {
	const stage = typed.trim();
	return stage.toLowerCase() === CLOSED_TICKET_STAGE ? CLOSED_TICKET_STAGE : stage;
}
