import type { ErasureCounts } from '../store/types';
import type { RetentionStore } from '../store/roles';
import { checkEmail } from '../store/validate';

export interface Erasure extends ErasureCounts {
	email: string;
	/** false: the embedded store's WAL could not be emptied (another process was reading); erasing again finishes it. */
	filesClean: boolean;
}

/**
 * Erases one person from the whole store (every inbox), in one transaction: see Store.eraseContact. Erasing an
 * address the store does not hold changes nothing and is not an error (the request is satisfied).
 */
export async function erasePerson(store: RetentionStore, email: string): Promise<Erasure> {
	const { email: address } = checkEmail(email, 'contact');
	return { email: address, ...(await store.eraseContact(address)) };
}
