/**
 * An Amazon SNS stand-in for tests: its own RSA key and self-signed certificate (made at run time), and messages
 * signed the way SNS signs them (signature v1 SHA1 or v2 SHA256 over the canonical string).
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, Certificate, Name, RelativeDistinguishedName, SubjectPublicKeyInfo, TBSCertificate, Validity, Version } from '@peculiar/asn1-x509';

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const COMMON_NAME = '2.5.4.3';
const ASN1_NULL = new Uint8Array([5, 0]).buffer;

function selfSigned(privateKey: KeyObject, publicKey: KeyObject): string {
	const algorithm = new AlgorithmIdentifier({ algorithm: SHA256_WITH_RSA, parameters: ASN1_NULL });
	const name = new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: COMMON_NAME, value: new AttributeValue({ utf8String: 'sns.amazonaws.com' }) })])]);
	const tbsCertificate = new TBSCertificate({
		version: Version.v3,
		serialNumber: new Uint8Array([0x01, ...randomBytes(15)]).buffer,
		signature: algorithm,
		issuer: name,
		subject: name,
		validity: new Validity({ notBefore: new Date(Date.now() - 86400_000), notAfter: new Date(Date.now() + 86400_000) }),
		subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
	});
	const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbsCertificate)), privateKey);
	const der = Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate, signatureAlgorithm: algorithm, signatureValue: new Uint8Array(signature).buffer })));
	return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
}

export const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:hosted-inbox';
export const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem';

export function snsSigner() {
	const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	const certificate = selfSigned(privateKey, publicKey);
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
