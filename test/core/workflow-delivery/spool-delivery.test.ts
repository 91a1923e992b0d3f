import { parseInboxConfig } from '../../../core/inbox';
import { runOfSpooled } from '../../../core/intake/door';
import { decisionOf, runChecks } from '../../../core/intake/pipeline';
import { bytesOf } from '../../../core/message-bytes';
import { spooledBytes } from '../../../core/spool/spool';
import type { SpoolEntry } from '../../../core/store/types';
import { buildIntakeEmission, type IntakeEmission } from '../../../core/workflow-delivery/emission';
import { SpoolDelivery } from '../../../core/workflow-delivery/spool-delivery';
import { zoneResolver } from '../../../core/dns';
import { compose } from '../../fixtures/mail';
import { describeEachStore } from '../../support/stores';

const ADDRESS = 'support@inbox.example.test';
const inbox = parseInboxConfig({ address: ADDRESS });
const envelope = { clientIp: '192.0.2.1', helo: 'mx.customer.test', mailFrom: 'ann@customer.test', rcpt: [ADDRESS] };

describeEachStore('spool delivery', (getStore) => {
	it('emits at most maxInFlight messages at once: a message spooled past that waits in the spool, and a sweep emits it once there is room', async () => {
		const store = getStore();
		const { id: inboxId } = await store.registerInbox({ address: `flow-${Date.now()}@inbox.example.test` });
		const emission = async (entry: SpoolEntry): Promise<IntakeEmission> => {
			const run = await runOfSpooled(entry, spooledBytes(store, entry), inbox, zoneResolver({}));
			return buildIntakeEmission(run.result, run.content, { inboxAddress: ADDRESS, via: 'smtp', receivedAt: run.receivedAt, message: spooledBytes(store, entry) });
		};
		const running = new Map<string, () => void>();
		const delivery = new SpoolDelivery({
			store,
			inboxId,
			prepare: emission,
			deliver: async (_emission, entry) => await new Promise<void>((resolve) => running.set(entry.id, resolve)),
			onGiveUp: () => undefined,
			onError: (error) => {
				throw error;
			},
			maxInFlight: 2,
		});
		const entries: SpoolEntry[] = [];
		for (let i = 0; i < 5; i++) {
			const raw = await compose({ from: 'ann@customer.test', to: ADDRESS, subject: `message ${i}`, text: 'x' });
			const run = await runChecks(raw, { inbox, envelope });
			const entry = await store.spoolPut({ inboxId, message: bytesOf(raw), envelope, receivedAt: new Date().toISOString(), decision: decisionOf(run.result) });
			entries.push(entry);
			delivery.submit(entry, emission(entry));
		}
		/** Waits (bounded) until `ready` holds. */
		const until = async (ready: () => boolean) => {
			for (let i = 0; i < 500 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
			expect(ready()).toBe(true);
		};
		const finishRunning = async () => {
			for (const done of running.values()) done();
			running.clear();
			await until(() => delivery.pending === 0);
		};
		await until(() => running.size === 2);
		expect([...running.keys()]).toEqual(entries.slice(0, 2).map((e) => e.id));

		await finishRunning();
		await delivery.sweep();
		await until(() => running.size === 2);
		await finishRunning();
		await delivery.sweep();
		await until(() => running.size === 1);
		await finishRunning();
		expect((await store.spoolList({ inboxId, status: 'done' })).map((e) => e.id).sort()).toEqual(entries.map((e) => e.id).sort());
		await delivery.stop();
	});

	it('neither emits nor completes an entry its preparation settled otherwise (held for review: nothing to emit)', async () => {
		const store = getStore();
		const { id: inboxId } = await store.registerInbox({ address: `settled-${Date.now()}@inbox.example.test` });
		const raw = await compose({ from: 'ann@customer.test', to: ADDRESS, subject: 'settled', text: 'x' });
		const entry = await store.spoolPut({ inboxId, message: bytesOf(raw), envelope });
		const delivered: string[] = [];
		const troubles: Error[] = [];
		const delivery = new SpoolDelivery({
			store,
			inboxId,
			prepare: async () => null,
			deliver: async (_emission, each) => void delivered.push(each.id),
			onGiveUp: () => undefined,
			onError: (error) => troubles.push(error),
		});
		await delivery.sweep();
		await delivery.stop();
		expect({ delivered, troubles, status: (await store.spoolGet(entry.id))?.status }).toEqual({ delivered: [], troubles: [], status: 'pending' });
	});
});
