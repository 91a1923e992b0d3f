/** The stage a new ticket starts in, and the one a reply that reopens its conversation moves it back to. */
export const DEFAULT_TICKET_STAGE = 'New';
