import { placeholders, type SqlValue } from '../sql';

/**
 * The WHERE clause of a list: a filter left undefined adds no condition. Parameters are numbered after those the
 * statement already uses (`leading`), and a LIMIT can follow as the next one.
 */
export class Filter {
	readonly params: SqlValue[];
	private readonly conditions: string[] = [];

	constructor(leading: SqlValue[] = []) {
		this.params = [...leading];
	}

	/** `column = value`, when the value is given. */
	equals(column: string, value: SqlValue | undefined): this {
		if (value !== undefined) this.conditions.push(`${column} = ${this.param(value)}`);
		return this;
	}

	/** `column IN (values)`. */
	among(column: string, values: SqlValue[]): this {
		this.conditions.push(`${column} IN (${placeholders(this.params.length + 1, values.length)})`);
		this.params.push(...values);
		return this;
	}

	/** A condition without parameters, when given. */
	holds(condition: string | undefined): this {
		if (condition !== undefined) this.conditions.push(condition);
		return this;
	}

	/** Adds a parameter (a LIMIT, say) and returns its placeholder. */
	param(value: SqlValue): string {
		this.params.push(value);
		return `$${this.params.length}`;
	}

	/** ` WHERE a AND b`, or nothing when no filter was given. */
	get clause(): string {
		return this.conditions.length ? ` WHERE ${this.conditions.join(' AND ')}` : '';
	}
}
