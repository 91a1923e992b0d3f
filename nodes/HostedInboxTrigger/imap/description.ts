import type { INodeProperties } from 'n8n-workflow';

const imap = { show: { receiveVia: ['imap'] } };

/** Parameters of "Receive via: IMAP mailbox" (the connection is n8n's IMAP credential). */
export const imapProperties: INodeProperties[] = [
	{
		displayName:
			'Mail is taken from this mailbox and marked read, moved or deleted only after the workflow run for it succeeded. A failed run leaves the message untouched and retries it; after the last attempt it is flagged $HostedInboxFailed.',
		name: 'imapNotice',
		type: 'notice',
		default: '',
		displayOptions: imap,
	},
	{
		displayName: 'Mailbox',
		name: 'mailbox',
		type: 'string',
		default: 'INBOX',
		description: 'The folder to take mail from',
		displayOptions: imap,
	},
	{
		displayName: 'Inbox Address',
		name: 'mailboxAddress',
		type: 'string',
		default: '',
		placeholder: 'support@company.com',
		description: "The address this mailbox receives mail for; empty: the IMAP credential's user, when it is an email address",
		displayOptions: imap,
	},
	{
		displayName: 'After Processing',
		name: 'afterProcessing',
		type: 'options',
		options: [
			{ name: 'Delete', value: 'delete', description: 'Delete the message (expunged)' },
			{ name: 'Mark as Read', value: 'markRead' },
			{ name: 'Move to Folder', value: 'move' },
		],
		default: 'markRead',
		description: 'What happens to a message once the workflow run for it succeeded',
		displayOptions: imap,
	},
	{
		displayName: 'Folder',
		name: 'moveToFolder',
		type: 'string',
		default: 'Processed',
		description: 'Where processed messages are moved (created when missing)',
		displayOptions: { show: { receiveVia: ['imap'], afterProcessing: ['move'] } },
	},
	{
		displayName: 'On First Start, Take In',
		name: 'initialSync',
		type: 'options',
		options: [
			{ name: 'All Since a Date', value: 'since' },
			{ name: 'Only New Messages', value: 'new', description: 'Mail already in the mailbox is left alone' },
			{ name: 'Unread Messages', value: 'unread', description: 'The unread mail already in the mailbox, then everything new' },
		],
		default: 'new',
		description: 'What the first activation does with the mail already there; later activations continue where the last one stopped',
		displayOptions: imap,
	},
	{
		displayName: 'Since',
		name: 'initialSyncSince',
		type: 'dateTime',
		default: '',
		description: 'Mail received on or after this day is taken in on the first start',
		displayOptions: { show: { receiveVia: ['imap'], initialSync: ['since'] } },
	},
	{
		displayName: 'IMAP Settings',
		name: 'imapSettings',
		type: 'collection',
		placeholder: 'Add Setting',
		default: {},
		displayOptions: imap,
		options: [
			{
				displayName: 'Longest Reconnect Delay (Seconds)',
				name: 'reconnectMaxDelaySeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 60,
				description: 'A lost connection is retried forever, waiting twice as long each time up to this, with jitter',
			},
			{
				displayName: 'MB per Execution',
				name: 'batchMegabytes',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 1024 },
				default: 8,
				description: 'A batch is also bounded by size: it is held in memory until its execution ends. A message larger than this goes alone.',
			},
			{
				displayName: 'Messages per Execution',
				name: 'batchSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 500 },
				default: 50,
				description: 'Mail waiting in the mailbox is handed over in batches of up to this many items per execution; a failed batch is retried one message at a time',
			},
			{
				displayName: 'Poll Interval (Seconds)',
				name: 'pollIntervalSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 30,
				description: 'How often to look for mail when the server has no IDLE',
			},
			{
				displayName: 'Restart IDLE Every (Minutes)',
				name: 'idleRestartMinutes',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 5,
				description: 'Idle connections can die silently (NAT, firewalls): IDLE is restarted this often',
			},
		],
	},
];
