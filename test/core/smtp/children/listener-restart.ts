/**
 * A listener process that keeps its self-signed certificate in a file, as n8n does in its data folder: prints its
 * port, then listens until it is killed. argv: <script> <certificate file>
 */
import { attachHostedInbox, DEFAULT_LISTENER_SETTINGS } from '../../../../core/smtp/listener';

const [file] = process.argv.slice(3);

attachHostedInbox(
	{ ...DEFAULT_LISTENER_SETTINGS, host: '127.0.0.1', port: 0, selfSignedCertificateFile: file },
	{ address: 'support@inbox.example.test', maxMessageBytes: 1024, receive: async () => ({ code: 250, enhancedCode: '2.0.0', text: 'Queued' }) },
).then(
	(attached) => console.log(attached.port),
	(error: Error) => {
		console.error(error);
		process.exit(1);
	},
);
