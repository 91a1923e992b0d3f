import { receivedHop } from '../../../core/http/received-hop';

const message = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\nbody\r\n`);

describe("the provider's Received hop", () => {
	it('is the topmost Received field from another host: a local pickup above it is passed over', () => {
		const raw = message(
			'Return-Path: <ann@sender.test>',
			'Received: by p-pm-inboundg02a-aws-useast1a.inbound.postmarkapp.com (Postfix, from userid 996)',
			'\tid 4F1C0453C2E; Tue, 3 Mar 2026 10:00:01 +0000 (UTC)',
			'Received: from mail-wr1-f54.google.com (mail-wr1-f54.google.com [209.85.221.54])',
			'\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))',
			'\tby p-pm-inboundg02a-aws-useast1a.inbound.postmarkapp.com (Postfix) with ESMTPS id 9B0B1453C2E',
			'\tfor <support@inbox.example.test>; Tue, 3 Mar 2026 10:00:00 +0000 (UTC)',
			'Received: from attacker.test (attacker.test [192.0.2.66]) by mail.attacker.test',
			'From: ann@sender.test',
		);
		expect(receivedHop(raw)).toEqual({ clientIp: '209.85.221.54', helo: 'mail-wr1-f54.google.com' });
	});

	it('reads IPv6 literals, LF-only messages, and says null for what it cannot read', () => {
		expect(receivedHop(Buffer.from('Received: from mx.sender.test (mx.sender.test [IPv6:2001:db8::25]) by inbound-smtp.eu-west-1.amazonaws.com with SMTP id x\nSubject: hi\n\nbody'))).toEqual({
			clientIp: '2001:db8::25',
			helo: 'mx.sender.test',
		});
		expect(receivedHop(message('Received: from helo.only.test by mx.provider.test', 'Subject: x'))).toEqual({ clientIp: null, helo: 'helo.only.test' });
		expect(receivedHop(message('Received: from x (x [999.1.1.1]) by mx', 'Subject: x'))).toEqual({ clientIp: null, helo: 'x' });
		expect(receivedHop(message('Subject: no hops'))).toEqual({ clientIp: null, helo: null });
		// An address literal as HELO is the sender's; the provider's comment still names the client.
		expect(receivedHop(message('Received: from [192.0.2.9] (unknown [203.0.113.5]) by mx', 'Subject: x'))).toEqual({ clientIp: '203.0.113.5', helo: '[192.0.2.9]' });
		// A HELO the parser cannot read leaves the hop unread: the field below it is the sender's.
		expect(receivedHop(message('Received: from "x [192.0.2.9]" (unknown [203.0.113.5]) by mx', 'Received: from a (a [192.0.2.9]) by b', 'Subject: x'))).toEqual({ clientIp: null, helo: null });
		// A Received field in the body is no hop.
		expect(receivedHop(Buffer.from('Subject: x\r\n\r\nReceived: from a (a [192.0.2.1]) by b\r\n'))).toEqual({ clientIp: null, helo: null });
	});

	it('reads a bounded part of any header section: the first 64 KB, five Received fields, 2 KB of each (no timing: what lies beyond is never seen)', () => {
		const hop = 'Received: from mx.sender.test (mx.sender.test [203.0.113.5]) by mx.provider.test';
		expect(receivedHop(message(hop, 'Subject: x'))).toEqual({ clientIp: '203.0.113.5', helo: 'mx.sender.test' });
		// Past 64 KB of header section.
		expect(receivedHop(message(`X-Filler: ${'f'.repeat(64 * 1024)}`, hop, 'Subject: x'))).toEqual({ clientIp: null, helo: null });
		// Below five Received fields (local pickups, passed over).
		expect(receivedHop(message(...Array.from({ length: 5 }, () => 'Received: by local'), hop, 'Subject: x'))).toEqual({ clientIp: null, helo: null });
		expect(receivedHop(message(...Array.from({ length: 4 }, () => 'Received: by local'), hop, 'Subject: x'))).toEqual({ clientIp: '203.0.113.5', helo: 'mx.sender.test' });
		// The client's comment folded in after 2 KB of the field.
		expect(receivedHop(message(`Received: from mx.sender.test${'\r\n\t(x)'.repeat(700)}\r\n\t(mx.sender.test [203.0.113.5]) by mx.provider.test`, 'Subject: x'))).toEqual({ clientIp: null, helo: 'mx.sender.test' });
		// Hostile shapes end with an answer, not a hang or a throw: a 5 MB field, 100,000 folded lines, 100,000 Received fields.
		expect(receivedHop(Buffer.from(`Received: from x (x [${'('.repeat(5 * 1024 * 1024)}\r\n\r\n`)).clientIp).toBeNull();
		expect(receivedHop(Buffer.from(`Received: from x\r\n${' (\r\n'.repeat(100_000)}\r\n`)).clientIp).toBeNull();
		expect(receivedHop(Buffer.from(`${'Received: by local\r\n'.repeat(100_000)}\r\n`))).toEqual({ clientIp: null, helo: null });
	});
});
