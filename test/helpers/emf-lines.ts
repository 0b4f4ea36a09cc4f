import { afterAll, beforeAll } from "vitest";

/**
 * For a test file of the Lambda package's EMF output: sets the function's name, collects every EMF
 * document (a stdout line with "_aws") into `lines`, and imports @unmeltable/lambda once the name is set
 * (Powertools reads it when it loads). Registers its own beforeAll/afterAll.
 */
export function captureEmfLines(functionName: string): { lines: string[]; lambda: () => typeof import("@unmeltable/lambda") } {
  const lines: string[] = [];
  let lambda: typeof import("@unmeltable/lambda") | undefined;
  let restore = () => {};
  beforeAll(async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = functionName;
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = String(chunk);
      if (text.includes('"_aws"')) lines.push(...text.split("\n").filter((l) => l.includes('"_aws"')));
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    restore = () => (process.stdout.write = write);
    lambda = await import("@unmeltable/lambda");
  });
  afterAll(() => {
    restore();
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  });
  return { lines, lambda: () => lambda! };
}
