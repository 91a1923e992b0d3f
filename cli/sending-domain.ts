import { generateDkimKeyPair } from '../core/sending-domain/keys';

export const SENDING_DOMAIN_USAGE = 'hosted-inbox sending-domain keygen > dkim-private-key.pem';

/**
 * `sending-domain keygen`: a new RSA-2048 DKIM private key, printed (PEM) for the Hosted Inbox Sending Domain API
 * credential. It is made here, on the user's machine, so it never passes through a workflow execution.
 */
export async function sendingDomainCommand(args: string[]): Promise<number> {
	if (args.length !== 1 || args[0] !== 'keygen') {
		process.stderr.write(`usage: ${SENDING_DOMAIN_USAGE}\n`);
		return 2;
	}
	process.stdout.write(generateDkimKeyPair().privateKey);
	process.stderr.write(
		'Paste this key, the domain and a selector (e.g. hostedinbox1) into a "Hosted Inbox Sending Domain API" credential in n8n, then run Hosted Inbox > Sending Domain > Connect. Keep no other copy.\n',
	);
	return 0;
}
