import { runCli as run } from '../../support/cli';
import { verifyForwarding } from '../../../core/forwarding/verify';
import type { SendRaw } from '../../../core/outbound/transport';
import { describeEachStore, storeArg } from '../../support/stores';


const accepted: SendRaw = async (_raw, envelope) => ({ accepted: envelope.to, rejected: [], response: '250 2.0.0 queued' });

describeEachStore('hosted-inbox store forwarding list', (getStore, _engine, getOptions) => {
	it('shows the latest check per inbox, a timed-out one as failed with its causes, and never the token', async () => {
		const store = getStore();
		await store.registerInbox({ address: 'never@inbox.example.test' });
		await store.registerInbox({ address: 'late@inbox.example.test' });
		const started = await verifyForwarding({ inbox: 'late@inbox.example.test', publicAddress: 'support@company.test', timeoutMs: 50 }, { store, send: accepted });
		await new Promise((resolve) => setTimeout(resolve, 100));

		const json = await run(['store', 'forwarding', 'list', '--store', storeArg(getOptions()), '--json']);
		expect(json).toMatchObject({ code: 0, stderr: '' });
		const statuses = JSON.parse(json.stdout) as Array<Record<string, any>>;
		expect(statuses.find((s) => s.inbox.address === 'never@inbox.example.test')).toMatchObject({ status: 'unknown', check: null });
		const late = statuses.find((s) => s.inbox.address === 'late@inbox.example.test')!;
		expect(late).toMatchObject({ status: 'failed', check: { id: started.check.id, publicAddress: 'support@company.test' } });
		expect(late.causes.map((c: { cause: string }) => c.cause)).toContain('no-forwarding-rule');
		expect(json.stdout).not.toMatch(/hiv1\./);

		const table = await run(['store', 'forwarding', 'list', '--store', storeArg(getOptions())]);
		expect(table.code).toBe(0);
		const row = table.stdout.split('\n').find((line) => line.startsWith('late@inbox.example.test'));
		expect(row).toMatch(/support@company\.test\s+failed\s+.*no-forwarding-rule/);
	});
});
