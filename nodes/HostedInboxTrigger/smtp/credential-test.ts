import { createSecureContext } from 'node:tls';
import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

/** Checks the SMTP listener credential without a listener: the certificate and key parse and belong together. */
export async function testSmtpListenerCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const cert = String(data.tlsPublicCertificate ?? '').trim();
	const key = String(data.tlsPrivateKey ?? '').trim();
	if (!cert && !key) {
		const auth = String(data.authUser ?? '').trim() ? ', and AUTH is refused until one is set' : '';
		return { status: 'OK', message: `No certificate: STARTTLS presents this install's self-signed certificate${auth}` };
	}
	if (!cert || !key) return { status: 'Error', message: 'Give both the TLS certificate and its private key, or neither' };
	try {
		createSecureContext({ cert, key });
	} catch (error) {
		return { status: 'Error', message: `The certificate and key cannot be used: ${(error as Error).message}` };
	}
	return { status: 'OK', message: 'The certificate and key belong together' };
}
