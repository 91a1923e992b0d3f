import { main } from '../../cli/hosted-inbox';

/** Runs the hosted-inbox CLI in-process, capturing what it writes. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
	let stdout = '';
	let stderr = '';
	const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
	const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
	try {
		return { code: await main(args), stdout, stderr };
	} finally {
		out.mockRestore();
		err.mockRestore();
	}
}
