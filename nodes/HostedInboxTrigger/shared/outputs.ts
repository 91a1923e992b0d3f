import {
	NodeOperationError,
	type IBinaryKeyData,
	type IDataObject,
	type INodeExecutionData,
	type INodeProperties,
	type IRun,
	type ITriggerFunctions,
	type IWebhookFunctions,
} from 'n8n-workflow';

import { readAttachments } from '../../../core/intake/pipeline';
import { Batcher } from '../../../core/workflow-delivery/batch';
import { INTAKE_OUTPUTS, type IntakeEmission } from '../../../core/workflow-delivery/emission';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../../core/workflow-delivery/retry';

export const OUTPUT_NAMES = ['Message', 'Forwarding confirmation', 'Rejected / quarantined'];

export const outputOptionsProperties: INodeProperties[] = [
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		// binaryData: n8n leaves a webhook's request body unread for a version-1 node whose options.binaryData is true, so
		// the HTTP door reads every format itself, streaming, byte for byte, under its own size cap.
		default: { binaryData: true },
		options: [
			{
				displayName: 'Emit Rejected and Quarantined Mail',
				name: 'emitRejected',
				type: 'boolean',
				default: false,
				description:
					'Whether refused and quarantined messages also come out on the Rejected / quarantined output, in batches (they are always in the intake log)',
			},
			{
				displayName: 'Execution Attempts per Message',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 5,
				description: 'A message whose execution fails is emitted again with growing delays; after this many failed executions it is reported and kept aside',
			},
			{
				displayName: 'First Retry After (Seconds)',
				name: 'retryDelaySeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 30,
				description: 'Delay before the first retry of a failed execution; each further retry waits twice as long (at most 30 minutes)',
			},
			{
				displayName: 'Include Raw Message',
				name: 'includeRaw',
				type: 'boolean',
				default: false,
				description: 'Whether to add the original message as binary data (property "raw", message/rfc822); never for a forwarding test, whose token it holds',
			},
			{
				displayName: 'Read the Request Body Itself',
				name: 'binaryData',
				type: 'hidden',
				default: true,
			},
		],
	},
];

export interface OutputOptions {
	emitRejected: boolean;
	includeRaw: boolean;
	retry: RetryPolicy;
}

export function readOutputOptions(context: ITriggerFunctions | IWebhookFunctions): OutputOptions {
	const options = context.getNodeParameter('options', {}) as IDataObject;
	return {
		emitRejected: options.emitRejected === true,
		includeRaw: options.includeRaw === true,
		retry: {
			...DEFAULT_RETRY_POLICY,
			maxAttempts: Number(options.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts),
			baseDelayMs: Number(options.retryDelaySeconds ?? DEFAULT_RETRY_POLICY.baseDelayMs / 1000) * 1000,
		},
	};
}

/** What building items needs of n8n: its binary data helper (a trigger's or a webhook's). */
type BinaryContext = { helpers: Pick<ITriggerFunctions['helpers'], 'prepareBinaryData'> };

/**
 * Attachments (and the raw message on request) become n8n binary data, streamed from where the message is kept one
 * at a time: n8n's filesystem (or S3) binary-data mode then never holds them in memory.
 */
async function toNodeItem(context: BinaryContext, emission: IntakeEmission, withRaw: boolean): Promise<INodeExecutionData> {
	const binary: IBinaryKeyData = {};
	const { message, attachments } = emission;
	if (message && attachments.length) {
		await readAttachments(message, async (attachment, index) => {
			const listed = attachments[index];
			if (listed) binary[listed.binaryKey] = await context.helpers.prepareBinaryData(attachment.content, listed.filename ?? undefined, listed.contentType);
		});
	}
	if (withRaw && message) binary.raw = await context.helpers.prepareBinaryData(message.open(), 'message.eml', 'message/rfc822');
	return { json: emission.item as unknown as IDataObject, ...(Object.keys(binary).length ? { binary } : {}) };
}

function onOutput(output: IntakeEmission['output'], items: INodeExecutionData[]): INodeExecutionData[][] {
	return INTAKE_OUTPUTS.map((name) => (name === output ? items : []));
}

/** Messages as the trigger's outputs carry them: one array per output, in order, the raw message only on request. */
export async function outputData(context: BinaryContext, options: OutputOptions, emissions: IntakeEmission[]): Promise<INodeExecutionData[][]> {
	const data: INodeExecutionData[][] = INTAKE_OUTPUTS.map(() => []);
	for (const emission of emissions) {
		// A forwarding test's raw message holds its token: whoever reads the execution could replay it.
		const withRaw = options.includeRaw && emission.item.kind !== 'forwarding-test';
		data[INTAKE_OUTPUTS.indexOf(emission.output)].push(await toNodeItem(context, emission, withRaw));
	}
	return data;
}

function runFailure(run: IRun | undefined): string | null {
	if (!run) return 'the execution did not report a result';
	const error = run.data?.resultData?.error;
	if (error) return error.message;
	return ['error', 'crashed', 'canceled'].includes(run.status) ? `the execution ended with status "${run.status}"` : null;
}

export interface TriggerOutputs {
	/** Emits one message; resolves once its execution succeeded (in a manual test run: once emitted). */
	deliver(emission: IntakeEmission): Promise<void>;
	/** Emits several messages as one execution (IMAP batches); resolves once that execution succeeded. */
	deliverMany(emissions: IntakeEmission[]): Promise<void>;
	/** A refused or quarantined message, for the Rejected / quarantined output when it is on. */
	setAside(emission: IntakeEmission): void;
	/** A message given up after its last attempt: a failed execution n8n shows and an error workflow sees. */
	reportGivenUp(message: string): void;
	close(): void;
}

/** The n8n side shared by both ways of receiving mail: items, binary data, done-promises, batching, reporting. */
export function createTriggerOutputs(context: ITriggerFunctions, options: OutputOptions): TriggerOutputs {
	const manual = context.getMode() === 'manual';
	const rejected = new Batcher<IntakeEmission>((batch) => {
		void Promise.all(batch.map(async (emission) => await toNodeItem(context, emission, false))).then(
			(items) => context.emit(onOutput('rejected', items)),
			(error: Error) => context.logger.error(`Hosted inbox: could not emit rejected mail: ${error.message}`),
		);
	});
	const deliverMany: TriggerOutputs['deliverMany'] = async (emissions) => {
		const data = await outputData(context, options, emissions);
		if (manual) {
			// A test run takes the first emit and ends; n8n reports no completion for it.
			context.emit(data);
			return;
		}
		const done = context.helpers.createDeferredPromise<IRun>();
		context.emit(data, undefined, done);
		const failure = runFailure(await done.promise);
		if (failure) throw new Error(failure);
	};
	return {
		deliver: async (emission) => await deliverMany([emission]),
		deliverMany,
		setAside(emission) {
			if (options.emitRejected) rejected.add(emission);
		},
		reportGivenUp(message) {
			context.saveFailedExecution(new NodeOperationError(context.getNode(), message));
		},
		close() {
			rejected.flush();
		},
	};
}
