import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import type { SmtpSettings } from '../../core/outbound/transport';

/** n8n's built-in `smtp` credential as SmtpSettings, read the way n8n's Send Email node reads it (secure unless turned off). */
export function smtpSettingsFromCredential(credential: ICredentialDataDecryptedObject, allowUnauthorizedCerts = false): SmtpSettings {
	return {
		host: String(credential.host ?? ''),
		port: Number(credential.port) || 465,
		secure: credential.secure !== false,
		user: credential.user ? String(credential.user) : undefined,
		password: credential.password ? String(credential.password) : undefined,
		disableStartTls: credential.disableStartTls === true,
		hostName: credential.hostName ? String(credential.hostName) : undefined,
		allowUnauthorizedCerts,
	};
}
