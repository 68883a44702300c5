/** Cuts a byte stream into whole lines, so that two hosts never share one output line. */
export class LineSplitter {
  private pending = ''
  private readonly decoder = new TextDecoder()

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }))
    const lines = text.split('\n')
    this.pending = lines.pop() ?? ''
    for (const line of lines) this.onLine(line.replace(/\r$/, ''))
  }

  end(): void {
    const rest = this.pending + this.decoder.decode()
    this.pending = ''
    if (rest !== '') this.onLine(rest)
  }
}
