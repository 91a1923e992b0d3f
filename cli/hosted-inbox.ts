#!/usr/bin/env node
import { deliverCommand } from './deliver';
import { explainCommand } from './explain';
import { sendingDomainCommand } from './sending-domain';
import { storeCommand } from './store';

/** A subcommand gets its arguments and resolves to the exit code. */
export type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
	deliver: (args) => deliverCommand(args),
	explain: explainCommand,
	'sending-domain': sendingDomainCommand,
	store: storeCommand,
};

const USAGE = `usage: hosted-inbox <command> [options]\ncommands: ${Object.keys(COMMANDS).join(', ')}\n`;

export async function main(argv: string[]): Promise<number> {
	const [name, ...rest] = argv;
	if (!name || name === '--help' || name === '-h') {
		process.stdout.write(USAGE);
		return name ? 0 : 2;
	}
	const command = COMMANDS[name];
	if (!command) {
		process.stderr.write(`hosted-inbox: unknown command "${name}" (${Object.keys(COMMANDS).join(', ')})\n`);
		return 2;
	}
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
