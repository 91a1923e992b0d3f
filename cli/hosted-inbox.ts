#!/usr/bin/env node
/** A subcommand gets its arguments and resolves to the exit code. */
export type Command = (args: string[]) => Promise<number>;

/** Each command is loaded when it runs: `deliver` runs once per message under an MTA and must start fast. */
const COMMANDS: Record<string, () => Promise<Command>> = {
	deliver: async () => (await import('./deliver')).deliverCommand,
	explain: async () => (await import('./explain')).explainCommand,
	'sending-domain': async () => (await import('./sending-domain')).sendingDomainCommand,
	store: async () => (await import('./store')).storeCommand,
};

const USAGE = `usage: hosted-inbox <command> [options]\ncommands: ${Object.keys(COMMANDS).join(', ')}\n`;

export async function main(argv: string[]): Promise<number> {
	const [name, ...rest] = argv;
	if (!name || name === '--help' || name === '-h') {
		process.stdout.write(USAGE);
		return name ? 0 : 2;
	}
	const load = COMMANDS[name];
	if (!load) {
		process.stderr.write(`hosted-inbox: unknown command "${name}" (${Object.keys(COMMANDS).join(', ')})\n`);
		return 2;
	}
	const command = await load();
	return await command(rest);
}

if (require.main === module) {
	main(process.argv.slice(2)).then(
		(code) => {
			process.exitCode = code;
		},
		(error: Error) => {
			process.stderr.write(`hosted-inbox: ${error.message.split('\n')[0]}\n`);
			process.exitCode = 1;
		},
	);
}
