import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

/** Secrets shorter than this can be guessed by whoever may post to the webhook URL, which is public. */
const MIN_SECRET_LENGTH = 24;

/** Checks the HTTP door credential without a request: at least one secret, none of them guessable. */
export async function testHttpDoorCredential(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const secrets = { token: data.token, 'HMAC secret': data.hmacSecret };
	const set = Object.entries(secrets).filter(([, value]) => String(value ?? '').trim());
	const mailgun = String(data.mailgunSigningSecret ?? '').trim();
	if (!set.length && !mailgun) return { status: 'Error', message: 'Set a token, an HMAC secret or a Mailgun signing key: the door refuses every post without one' };
	const short = set.find(([, value]) => String(value).trim().length < MIN_SECRET_LENGTH);
	if (short) return { status: 'Error', message: `The ${short[0]} is too short to keep out guessers: use at least ${MIN_SECRET_LENGTH} random characters` };
	return { status: 'OK', message: 'The door has what it checks posts against' };
}
