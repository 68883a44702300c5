/** Cuts a byte stream into whole lines, so that two hosts never share one output line. */
export class LineSplitter {
  /** The line under way, in pieces: joined once its end comes, so a long line costs linear time. */
  private pending: string[] = []
  private readonly decoder = new TextDecoder()

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true })
    if (!text.includes('\n')) {
      if (text !== '') this.pending.push(text)
      return
    }
    const lines = text.split('\n')
    lines[0] = this.pending.join('') + (lines[0] ?? '')
    const rest = lines.pop() ?? ''
    this.pending = rest === '' ? [] : [rest]
    for (const line of lines) this.onLine(line.replace(/\r$/, ''))
  }

  end(): void {
    const rest = this.pending.join('') + this.decoder.decode()
    this.pending = []
    if (rest !== '') this.onLine(rest)
  }
}
