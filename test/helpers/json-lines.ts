/** Calls `onEvent` with each JSON line of a stream as it arrives (lines may span chunks). */
export function followJsonLines(
  stream: NodeJS.ReadableStream | null | undefined,
  onEvent: (event: Record<string, unknown>) => void,
): void {
  let rest = "";
  stream?.on("data", (chunk: Buffer | string) => {
    const lines = (rest + String(chunk)).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") onEvent(JSON.parse(line) as Record<string, unknown>);
  });
}
