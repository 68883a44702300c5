// One line typed at a terminal in raw mode, for `ask`: the keys a shell's `read` honours (Enter,
// Backspace, Ctrl-U, Ctrl-C, Ctrl-D on an empty line), with other control keys and escape
// sequences (arrows) ignored. Raw mode is what lets a hidden answer (echo: false) go unechoed and
// Ctrl-C end the run at once, where a blocked read in the terminal's own line mode would wait for
// Enter. libuv's raw mode keeps output processing, so a written \n still reaches the screen as \r\n.

export interface LineState {
  text: string
  /** An escape sequence (an arrow key's `ESC [ D`) is being skipped. */
  isInEscape: boolean
}

export type LineEnd = 'enter' | 'end-of-input' | 'interrupt'

export interface LineStep {
  state: LineState
  /** What to write back to the terminal (nothing when the answer is hidden). */
  echo: string
  end?: LineEnd
}

export const EMPTY_LINE: LineState = { text: '', isInEscape: false }

const ERASE = '\b \b'

/** Applies typed characters to the line; stops at the first that ends it. */
export function editLine(state: LineState, typed: string, isEchoed: boolean): LineStep {
  let { text, isInEscape } = state
  let echo = ''
  const show = (written: string) => {
    if (isEchoed) echo += written
  }
  for (const char of typed) {
    if (isInEscape) {
      // CSI and SS3 sequences end with a letter or `~`: `ESC [ D`, `ESC [ 3 ~`, `ESC O H`.
      if (/[A-Za-z~]/.test(char) && char !== 'O') isInEscape = false
      continue
    }
    switch (char) {
      case '\r':
      case '\n':
        return { state: { text, isInEscape }, echo: echo + '\n', end: 'enter' }
      case '\x03':
        return { state: { text, isInEscape }, echo: echo + '^C\n', end: 'interrupt' }
      case '\x04':
        if (text === '') return { state: { text, isInEscape }, echo: echo + '\n', end: 'end-of-input' }
        break
      case '\x7f':
      case '\b': {
        const chars = [...text]
        if (chars.length === 0) break
        text = chars.slice(0, -1).join('')
        show(ERASE)
        break
      }
      case '\x15':
        show(ERASE.repeat([...text].length))
        text = ''
        break
      case '\x1b':
        isInEscape = true
        break
      default:
        if (char < ' ') break
        text += char
        show(char)
    }
  }
  return { state: { text, isInEscape }, echo }
}
