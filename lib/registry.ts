import { UsageError } from './errors.ts'
import type { CallerLocation } from './config/caller-location.ts'

export interface TaskOptions {
  /** One line shown by `deploy -T`; tasks without one are hidden there, as in Rake. */
  desc?: string
  /** Roles the task works on; its context's `hosts` are these roles' hosts after filters. */
  roles?: readonly string[] | string
}

export type TaskBody = (context: TaskContext) => unknown

/** What a task body receives. */
export interface TaskContext {
  /** Full task name, e.g. `deploy:symlink:release`. */
  readonly name: string
  /** The hosts of the task's roles after ROLES=/HOSTS= filters (every host if it declares none). */
  readonly hosts: import('./inventory/host.ts').Host[]
}

export interface TaskDefinition {
  readonly name: string
  readonly desc: string | undefined
  readonly roles: readonly string[]
  readonly body: TaskBody | undefined
  /** Where it was defined, for `--verbose` and errors. */
  readonly origin: string
}

/** One `before(task, other)` or `after(task, other)` call, for errors that name it and its line. */
export interface HookDeclaration {
  readonly kind: 'before' | 'after'
  /** Qualified names, as run. */
  readonly task: string
  readonly other: string
  /** The call as written, e.g. `after("deploy:published", "restart")`. */
  readonly call: string
  readonly origin: CallerLocation
}

/** The task registry: built-in and user tasks, namespaces and before/after hooks. */
export class Registry {
  private readonly tasks = new Map<string, TaskDefinition>()
  private readonly namespaceStack: string[] = []
  private readonly beforeHooks = new Map<string, string[]>()
  private readonly afterHooks = new Map<string, string[]>()
  private readonly hookDeclarations: HookDeclaration[] = []

  define(name: string, options: TaskOptions, body: TaskBody | undefined, origin: CallerLocation): TaskDefinition {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_:-]*$/.test(name)) {
      throw new UsageError(`Invalid task name "${name}": use letters, digits, "_" and ":" for namespaces.`)
    }
    const fullName = [...this.namespaceStack, name].join(':')
    const existing = this.tasks.get(fullName)
    const roles = options.roles === undefined ? [] : typeof options.roles === 'string' ? [options.roles] : [...options.roles]
    // Redefining a task replaces its body but keeps what the new definition leaves out (Rake enhances).
    const definition: TaskDefinition = {
      name: fullName,
      desc: options.desc ?? existing?.desc,
      roles: roles.length > 0 ? roles : existing?.roles ?? [],
      body: body ?? existing?.body,
      get origin() {
        return origin.value
      },
    }
    this.tasks.set(fullName, definition)
    return definition
  }

  inNamespace(name: string, define: () => void): void {
    this.namespaceStack.push(name)
    try {
      define()
    } finally {
      this.namespaceStack.pop()
    }
  }

  /** Resolves a name relative to the current namespace first, then from the top (Rake). */
  qualify(name: string): string {
    for (let depth = this.namespaceStack.length; depth > 0; depth--) {
      const candidate = [...this.namespaceStack.slice(0, depth), name].join(':')
      if (this.tasks.has(candidate)) return candidate
    }
    return name
  }

  before(task: string, other: string, origin: CallerLocation): void {
    this.addHook('before', task, other, origin)
  }

  after(task: string, other: string, origin: CallerLocation): void {
    this.addHook('after', task, other, origin)
  }

  private addHook(kind: HookDeclaration['kind'], task: string, other: string, origin: CallerLocation): void {
    const declaration = { kind, task: this.qualify(task), other: this.qualify(other), call: `${kind}(${JSON.stringify(task)}, ${JSON.stringify(other)})`, origin }
    this.hookDeclarations.push(declaration)
    pushHook(kind === 'before' ? this.beforeHooks : this.afterHooks, declaration.task, declaration.other)
  }

  /** A name for a function given as a hook: `after_deploy_published`, then `_2`, … (hidden from -T: no desc). */
  hookTaskName(kind: HookDeclaration['kind'], task: string): string {
    const base = `${kind}_${task.replace(/[^A-Za-z0-9_]/g, '_')}`
    const taken = (name: string) => this.tasks.has([...this.namespaceStack, name].join(':'))
    let name = base
    for (let n = 2; taken(name); n++) name = `${base}_${n}`
    return name
  }

  get(name: string): TaskDefinition | undefined {
    return this.tasks.get(name)
  }

  has(name: string): boolean {
    return this.tasks.has(name)
  }

  all(): TaskDefinition[] {
    return [...this.tasks.values()].sort((a, b) => a.name.localeCompare(b.name))
  }

  beforeOf(name: string): readonly string[] {
    return this.beforeHooks.get(name) ?? []
  }

  afterOf(name: string): readonly string[] {
    return this.afterHooks.get(name) ?? []
  }

  hooks(): readonly HookDeclaration[] {
    return this.hookDeclarations
  }
}

function pushHook(hooks: Map<string, string[]>, task: string, other: string): void {
  const list = hooks.get(task) ?? []
  if (!list.includes(other)) list.push(other)
  hooks.set(task, list)
}
