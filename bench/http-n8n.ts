/**
 * HTTP intake benchmark in a real n8n (npm run bench:http:n8n): one n8n 2.41.1 (Node 24, embedded store, this package
 * installed the community-node way by test/support/real-n8n.ts) with two workflows active at once, each followed by
 * n8n's No Operation node:
 *   A: Hosted Inbox Trigger, Receive Via HTTP (raw MIME, bearer token): authenticated, checked (SPF/DKIM/DMARC with
 *      offline DNS), spooled before its 200, emitted;
 *   B: n8n's own Webhook node (2, POST, respond immediately) doing nothing with the body.
 * Each side gets the same BENCH_POSTS 5 KB messages over 10 connections, in turn (A, then B; BENCH_THEIRS_FIRST=1
 * swaps), after a warm-up of 50. Reports answered posts per second, and posts per second until every execution
 * finished, for each side, and their ratios.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { triggerWorkflowFile } from './n8n-workflow';
import { scratchFolder } from './scratch';
import { N8N_CURRENT, N8n, packPackage, PACKAGE_NAME } from '../test/support/real-n8n';
import { httpDoorCredential } from '../test/support/real-n8n-setup';

const POSTS = Number(process.env.BENCH_POSTS ?? 1000);
const WARM_UP = 50;
const CONNECTIONS = 10;
const TOKEN = randomUUID();
const ADDRESS = 'support@inbox.example.test';

interface Side {
	name: string;
	path: string;
	trigger: Record<string, unknown>;
	headers: Record<string, string>;
	workflowId?: string;
}

const SIDES: Side[] = [
	{
		name: 'hosted inbox (HTTP door)',
		path: 'hosted',
		trigger: {
			type: `${PACKAGE_NAME}.hostedInboxTrigger`,
			typeVersion: 1,
			webhookId: randomUUID(),
			parameters: { receiveVia: 'http', httpFormat: 'raw', httpAddress: ADDRESS, httpPath: 'hosted', options: { binaryData: true } },
			credentials: { hostedInboxHttpApi: { id: 'hostedInboxHttpDoor', name: 'Hosted inbox HTTP door' } },
		},
		headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'message/rfc822', 'x-envelope-from': 'customer@example.net', 'x-envelope-to': ADDRESS },
	},
	{
		name: "n8n's Webhook node",
		path: 'bare',
		trigger: { type: 'n8n-nodes-base.webhook', typeVersion: 2, webhookId: randomUUID(), parameters: { httpMethod: 'POST', path: 'bare', responseMode: 'onReceived', options: {} } },
		headers: { 'content-type': 'message/rfc822' },
	},
];

function message(i: number): string {
	const head = [`From: Customer ${i} <customer${i}@example.net>`, `To: ${ADDRESS}`, `Subject: bench ${i}`, `Message-ID: <bench-${i}-${randomUUID()}@example.net>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8'];
	return `${head.join('\r\n')}\r\n\r\n${'Lorem ipsum dolor sit amet. '.repeat(175)}\r\n`;
}

/** Posts `count` messages over CONNECTIONS parallel clients; the seconds it took, failing on any answer but 200. */
async function postAll(url: string, side: Side, first: number, count: number): Promise<number> {
	let next = first;
	const started = process.hrtime.bigint();
	await Promise.all(
		Array.from({ length: CONNECTIONS }, async () => {
			for (let i = next++; i < first + count; i = next++) {
				// n8n 2.41 answers the activation before its webhooks are registered: a 404 ran nothing, post again.
				const deadline = Date.now() + 60_000;
				let response = await fetch(url, { method: 'POST', headers: side.headers, body: message(i) });
				while (response.status === 404 && Date.now() < deadline) {
					await response.arrayBuffer();
					await new Promise((resolve) => setTimeout(resolve, 500));
					response = await fetch(url, { method: 'POST', headers: side.headers, body: message(i) });
				}
				const body = await response.text();
				if (response.status !== 200) throw new Error(`${side.name}: post ${i} answered ${response.status}: ${body.slice(0, 300)}`);
			}
		}),
	);
	return Number(process.hrtime.bigint() - started) / 1e9;
}

async function main(): Promise<void> {
	const dir = scratchFolder('hi-bench-http-');
	const zone = join(dir, 'zone.json');
	writeFileSync(zone, '{}');
	const order = process.env.BENCH_THEIRS_FIRST ? [...SIDES].reverse() : SIDES;
	const n8n = await N8n.start({
		version: N8N_CURRENT,
		tarball: packPackage(),
		credentials: [httpDoorCredential({ token: TOKEN })],
		workflows: order.map((side) => triggerWorkflowFile(dir, side.path, side.name, side.trigger)),
		env: { HOSTED_INBOX_DNS_ZONE: zone },
	});
	const results: Array<{ side: Side; answered: number; finished: number }> = [];
	try {
		order.forEach((side, i) => (side.workflowId = n8n.workflowIds[i]));
		for (const side of order) {
			await n8n.activate(side.workflowId!);
			const url = `${n8n.url}/webhook/${side.path}`;
			await postAll(url, side, 0, WARM_UP);
			await n8n.waitForExecutions(side.workflowId!, WARM_UP, 300_000);
			const started = Date.now();
			const answered = await postAll(url, side, WARM_UP, POSTS);
			await n8n.waitForExecutions(side.workflowId!, WARM_UP + POSTS, 600_000);
			results.push({ side, answered: POSTS / answered, finished: POSTS / ((Date.now() - started) / 1000) });
		}
	} finally {
		await n8n.stop();
	}
	const ours = results.find((r) => r.side === SIDES[0])!;
	const theirs = results.find((r) => r.side === SIDES[1])!;
	const line = (r: (typeof results)[number]) => `${r.side.name.padEnd(28)} ${r.answered.toFixed(0).padStart(6)} posts/s answered   ${r.finished.toFixed(0).padStart(6)} posts/s until every execution finished`;
	process.stdout.write(
		[
			`HTTP intake in n8n ${N8N_CURRENT}, ${POSTS} x 5 KB posts over ${CONNECTIONS} connections (Node 24, embedded store)`,
			line(ours),
			line(theirs),
			`http bench: answered ${(ours.answered / theirs.answered).toFixed(2)}x n8n's Webhook node, until executions finished ${(ours.finished / theirs.finished).toFixed(2)}x`,
			'',
		].join('\n'),
	);
}

main().then(
	() => process.exit(0),
	(error: Error) => {
		process.stderr.write(`${error.stack ?? error.message}\n`);
		process.exit(1);
	},
);
