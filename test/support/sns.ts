/**
 * An Amazon SNS stand-in for tests: its own key and self-signed certificate (made at run time), and messages
 * signed the way SNS signs them (signature v1 SHA1 or v2 SHA256 over the canonical string).
 */
import { createPrivateKey, randomUUID, sign } from 'node:crypto';

import { createSelfSignedCertificate } from '../../core/smtp/certificate';

export const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:hosted-inbox';
export const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem';

export function snsSigner() {
	// The install's own self-signed certificate maker (an ECDSA key): the door verifies whatever key the certificate holds.
	const { cert: certificate, key } = createSelfSignedCertificate('sns.amazonaws.com');
	const privateKey = createPrivateKey(key);
	const fetched: string[] = [];
	return {
		certificate,
		/** Every URL the door asked for. */
		fetched,
		fetchCertificate: async (url: string) => {
			fetched.push(url);
			return certificate;
		},
		/** A message as SNS posts it: its fields, Signature over the canonical string, the certificate URL. */
		message(fields: Record<string, string>, options: { version?: '1' | '2'; certUrl?: string; topicArn?: string; at?: Date } = {}): Record<string, string> {
			const message: Record<string, string> = {
				MessageId: randomUUID(),
				TopicArn: options.topicArn ?? TOPIC_ARN,
				Timestamp: (options.at ?? new Date()).toISOString(),
				...fields,
			};
			const keys = message.Type === 'Notification' ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
			const canonical = keys.filter((key) => message[key] !== undefined).map((key) => `${key}\n${message[key]}\n`).join('');
			const version = options.version ?? '2';
			return {
				...message,
				SignatureVersion: version,
				Signature: sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(canonical), privateKey).toString('base64'),
				SigningCertURL: options.certUrl ?? CERT_URL,
			};
		},
	};
}
