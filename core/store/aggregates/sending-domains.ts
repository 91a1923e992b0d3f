import type { SendingDomainStore } from '../roles';
import type { Row, SqlDriver } from '../sql';
import { type SendingDomain } from '../types';
import { InvalidInputError } from '../../errors';
import { checkEmail, checkText } from '../validate';

import { now } from './clock';
import { json, one, text } from './rows';

function toSendingDomain(row: Row): SendingDomain {
	return {
		domain: String(row.domain),
		selector: String(row.selector),
		publicKey: String(row.public_key),
		verified: Number(row.verified) === 1,
		verifiedAt: text(row.verified_at),
		lastCheck: json(row.last_check, null),
	};
}

/** Sending domains (for custom from-addresses): their DKIM key and whether its DNS record was verified. */
export function sendingDomainStore(db: SqlDriver): SendingDomainStore {
	return {
		async upsertSendingDomain(input) {
			const domain = checkEmail(`postmaster@${String(input.domain).trim()}`, 'sending domain').key.slice('postmaster@'.length);
			// A new key or selector must be verified again: the DNS record checked before was for the old one.
			const row = await one(
				db,
				`INSERT INTO sending_domains (domain, selector, public_key, verified, verified_at, last_check) VALUES ($1, $2, $3, 0, NULL, NULL)
				ON CONFLICT (domain) DO UPDATE SET selector = excluded.selector, public_key = excluded.public_key,
					verified = CASE WHEN sending_domains.selector = excluded.selector AND sending_domains.public_key = excluded.public_key THEN sending_domains.verified ELSE 0 END,
					verified_at = CASE WHEN sending_domains.selector = excluded.selector AND sending_domains.public_key = excluded.public_key THEN sending_domains.verified_at ELSE NULL END
				RETURNING *`,
				[domain, checkText(input.selector, 'DKIM selector'), checkText(input.publicKey, 'DKIM public key')],
			);
			return toSendingDomain(row!);
		},

		async getSendingDomain(domain) {
			const row = await one(db, 'SELECT * FROM sending_domains WHERE domain = $1', [String(domain).trim().toLowerCase()]);
			return row ? toSendingDomain(row) : null;
		},

		async setSendingDomainVerified(domain, verified, lastCheck) {
			const row = await one(
				db,
				'UPDATE sending_domains SET verified = $2, verified_at = CASE WHEN $2 = 1 THEN $3 ELSE NULL END, last_check = $4 WHERE domain = $1 RETURNING *',
				[String(domain).trim().toLowerCase(), verified ? 1 : 0, now(), JSON.stringify(lastCheck ?? {})],
			);
			if (!row) throw new InvalidInputError(`Unknown sending domain: ${domain}`);
			return toSendingDomain(row);
		},
	};
}
