import { certificateUrlAllowed } from '../../../core/http/sns';

describe('where an SNS signing certificate may come from', () => {
	it('is only https://sns.<region>.amazonaws.com/...pem, with no user, password or port', () => {
		for (const url of ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem', 'https://sns.eu-west-1.amazonaws.com/a/b.pem']) {
			expect(certificateUrlAllowed(url)).toBe(true);
		}
		for (const url of [
			'http://sns.us-east-1.amazonaws.com/cert.pem',
			'https://sns.us-east-1.amazonaws.com.attacker.test/cert.pem',
			'https://attacker.test/sns.us-east-1.amazonaws.com/cert.pem',
			'https://user:pass@sns.us-east-1.amazonaws.com/cert.pem',
			'https://sns.us-east-1.amazonaws.com:444/cert.pem',
			'https://sns.us-east-1.amazonaws.com/cert.pem.txt',
			'https://sns.us_east.amazonaws.com/cert.pem',
			'https://evil.sns.us-east-1.amazonaws.com/cert.pem',
			'https://sns.amazonaws.com/cert.pem',
			'not a url',
			'',
		]) {
			expect(certificateUrlAllowed(url)).toBe(false);
		}
	});
});
