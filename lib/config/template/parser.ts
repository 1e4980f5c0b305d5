// Parser for Go text/template, following text/template/parse/parse.go: one Tree per template
// (the file itself plus each {{define}}/{{block}}), parse-time checks of functions and variables.
import type { ArgNode, BranchNode, CommandNode, ListNode, Node, PipeNode, TemplateNode, VariableNode } from './ast.js';
import { isEmptyTree, nodeString } from './ast.js';
import { numberNode, unquoteString } from './go-literal.js';
import { lex, tokenString, type Token, type TokenType } from './lexer.js';
import { TemplateError } from './template-error.js';

export interface Tree {
  name: string;
  /** name of the template (file) whose text this tree was parsed from */
  parseName: string;
  text: string;
  root: ListNode;
}

/** Line (1-based) and Go-style byte column (0-based) of an offset in text. */
export function position(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: Buffer.byteLength(text.slice(lineStart, pos), 'utf8') };
}

type EndMarker = { kind: 'end' | 'else'; pos: number; elseWith?: boolean };

/**
 * Parses one template text. Returns every tree it defines, the top-level one under `name`,
 * in definition order. Throws TemplateError with Go's wording ("template: NAME:LINE: ...").
 */
export function parse(name: string, text: string, hasFunction: (name: string) => boolean): Tree[] {
  const tokens = lex(text, { breakOK: !hasFunction('break'), continueOK: !hasFunction('continue') });
  const trees = new Map<string, Tree>();
  let i = 0;
  let vars: string[] = ['$'];
  let rangeDepth = 0;

  const fail = (msg: string, at: Token = tokens[Math.max(0, i - 1)]!): never => {
    throw new TemplateError(`template: ${name}:${position(text, at.pos).line}: ${msg}`, {
      templateName: name,
      line: position(text, at.pos).line,
    });
  };
  const next = (): Token => {
    const t = tokens[i] ?? tokens[tokens.length - 1]!;
    if (i < tokens.length) i++;
    if (t.type === 'error') fail(t.val, t);
    return t;
  };
  const peek = (): Token => {
    const t = tokens[i]!;
    if (t.type === 'error') {
      i++;
      fail(t.val, t);
    }
    return t;
  };
  const nextNonSpace = (): Token => {
    let t = next();
    while (t.type === 'space') t = next();
    return t;
  };
  const peekNonSpace = (): Token => {
    const t = nextNonSpace();
    i--;
    return t;
  };
  const expect = (type: TokenType, context: string): Token => {
    const t = nextNonSpace();
    if (t.type !== type) unexpected(t, context);
    return t;
  };
  const unexpected = (t: Token, context: string): never => {
    if (t.type === 'error') fail(t.val, t);
    return fail(`unexpected ${tokenString(t)} in ${context}`, t);
  };

  const addTree = (tree: Tree): void => {
    const old = trees.get(tree.name);
    if (old === undefined || isEmptyTree(old.root)) {
      trees.set(tree.name, tree);
      return;
    }
    if (!isEmptyTree(tree.root)) fail(`template: multiple definition of template "${tree.name}"`);
  };

  // parse(): the top level, where {{define}} is allowed.
  const root: ListNode = { kind: 'list', pos: peek().pos, nodes: [] };
  while (peek().type !== 'EOF') {
    if (peek().type === 'leftDelim') {
      const save = i;
      next();
      if (nextNonSpace().type === 'define') {
        parseDefinition();
        continue;
      }
      i = save;
    }
    const n = textOrAction();
    if ('kind' in n && (n.kind === 'end' || n.kind === 'else')) fail(`unexpected {{${n.kind}}}`);
    root.nodes.push(n as Node);
  }
  addTree({ name, parseName: name, text, root });
  return [...trees.values()];

  function parseDefinition(): void {
    const context = 'define clause';
    const tok = nextNonSpace();
    if (tok.type !== 'string' && tok.type !== 'rawString') unexpected(tok, context);
    const defName = unquote(tok);
    expect('rightDelim', context);
    const savedVars = vars;
    vars = ['$'];
    const [list, end] = itemList();
    vars = savedVars;
    if (end.kind !== 'end') fail(`unexpected {{${end.kind}}} in ${context}`);
    addTree({ name: defName, parseName: name, text, root: list });
  }

  function unquote(t: Token): string {
    try {
      return unquoteString(t.val);
    } catch (e) {
      return fail((e as Error).message, t);
    }
  }

  function itemList(): [ListNode, EndMarker] {
    const list: ListNode = { kind: 'list', pos: peekNonSpace().pos, nodes: [] };
    while (peekNonSpace().type !== 'EOF') {
      const n = textOrAction();
      if (n.kind === 'end' || n.kind === 'else') return [list, n as EndMarker];
      list.nodes.push(n as Node);
    }
    return fail('unexpected EOF', peek());
  }

  function textOrAction(): Node | EndMarker {
    const t = nextNonSpace();
    switch (t.type) {
      case 'text':
        return { kind: 'text', pos: t.pos, text: t.val };
      case 'leftDelim':
        return action();
      default:
        return unexpected(t, 'input');
    }
  }

  function action(): Node | EndMarker {
    const t = nextNonSpace();
    switch (t.type) {
      case 'block':
        return blockControl();
      case 'break':
      case 'continue':
        return loopControl(t);
      case 'else': {
        const p = peekNonSpace();
        if (p.type === 'if' || p.type === 'with') return { kind: 'else', pos: p.pos };
        return { kind: 'else', pos: expect('rightDelim', 'else').pos };
      }
      case 'end':
        return { kind: 'end', pos: expect('rightDelim', 'end').pos };
      case 'if':
        return control('if');
      case 'range':
        return control('range');
      case 'with':
        return control('with');
      case 'template':
        return templateControl();
    }
    i--;
    const p = peek();
    return { kind: 'action', pos: p.pos, pipe: pipeline('command', 'rightDelim') };
  }

  function loopControl(t: Token): Node {
    const name = t.type as 'break' | 'continue';
    const close = nextNonSpace();
    if (close.type !== 'rightDelim') unexpected(close, `{{${name}}}`);
    if (rangeDepth === 0) fail(`{{${name}}} outside {{range}}`, t);
    return { kind: name, pos: t.pos };
  }

  function control(kind: 'if' | 'with' | 'range'): BranchNode {
    const mark = vars.length;
    try {
      const pipe = pipeline(kind, 'rightDelim');
      if (kind === 'range') rangeDepth++;
      const [list, end] = itemList();
      if (kind === 'range') rangeDepth--;
      const node: BranchNode = { kind, pos: pipe.pos, pipe, list };
      if (end.kind === 'else') {
        const chained = peek().type;
        if ((kind === 'if' && chained === 'if') || (kind === 'with' && chained === 'with')) {
          // {{else if x}} is {{else}}{{if x}}...{{end}} sharing the outer {{end}}.
          next();
          node.elseList = { kind: 'list', pos: end.pos, nodes: [control(kind)] };
        } else {
          const [elseList, end2] = itemList();
          if (end2.kind !== 'end') fail(`expected end; found {{${end2.kind}}}`);
          node.elseList = elseList;
        }
      }
      return node;
    } finally {
      vars.length = mark;
    }
  }

  function templateName(t: Token, context: string): string {
    if (t.type === 'string' || t.type === 'rawString') return unquote(t);
    return unexpected(t, context);
  }

  function templateControl(): TemplateNode {
    const context = 'template clause';
    const t = nextNonSpace();
    const tname = templateName(t, context);
    const node: TemplateNode = { kind: 'template', pos: t.pos, name: tname };
    if (nextNonSpace().type !== 'rightDelim') {
      i--;
      node.pipe = pipeline(context, 'rightDelim');
    }
    return node;
  }

  function blockControl(): TemplateNode {
    const context = 'block clause';
    const t = nextNonSpace();
    const tname = templateName(t, context);
    const pipe = pipeline(context, 'rightDelim');
    const savedVars = vars;
    const savedDepth = rangeDepth;
    vars = ['$'];
    rangeDepth = 0;
    const [list, end] = itemList();
    vars = savedVars;
    rangeDepth = savedDepth;
    if (end.kind !== 'end') fail(`unexpected {{${end.kind}}} in ${context}`);
    addTree({ name: tname, parseName: name, text, root: list });
    return { kind: 'template', pos: t.pos, name: tname, pipe };
  }

  function pipeline(context: string, end: TokenType): PipeNode {
    const pipe: PipeNode = { kind: 'pipe', pos: peekNonSpace().pos, isAssign: false, decl: [], cmds: [] };
    for (;;) {
      const v = peekNonSpace();
      if (v.type !== 'variable') break;
      nextNonSpace();
      const afterVar = peek();
      const nx = peekNonSpace();
      if (nx.type === 'assign' || nx.type === 'declare') {
        pipe.isAssign = nx.type === 'assign';
        nextNonSpace();
        pipe.decl.push({ kind: 'variable', pos: v.pos, idents: [v.val] });
        vars.push(v.val);
      } else if (nx.type === 'char' && nx.val === ',') {
        nextNonSpace();
        pipe.decl.push({ kind: 'variable', pos: v.pos, idents: [v.val] });
        vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = peekNonSpace().type;
          if (p === 'variable' || p === 'rightDelim' || p === 'rightParen') continue;
          fail('range can only initialize variables');
        }
        fail(`too many declarations in ${context}`);
      } else if (afterVar.type === 'space') {
        i -= 2;
      } else {
        i -= 1;
      }
      break;
    }
    for (;;) {
      const t = nextNonSpace();
      if (t.type === end) {
        if (pipe.cmds.length === 0) fail(`missing value for ${context}`);
        pipe.cmds.slice(1).forEach((c, k) => {
          const a = c.args[0]!.kind;
          if (a === 'bool' || a === 'dot' || a === 'nil' || a === 'number' || a === 'string') {
            fail(`non executable command in pipeline stage ${k + 2}`);
          }
        });
        return pipe;
      }
      switch (t.type) {
        case 'bool':
        case 'charConstant':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          i--;
          pipe.cmds.push(command());
          break;
        default:
          unexpected(t, context);
      }
    }
  }

  function command(): CommandNode {
    const cmd: CommandNode = { kind: 'command', pos: peekNonSpace().pos, args: [] };
    for (;;) {
      peekNonSpace();
      const operand = operandNode();
      if (operand) cmd.args.push(operand);
      const t = next();
      if (t.type === 'space') continue;
      if (t.type === 'rightDelim' || t.type === 'rightParen') i--;
      else if (t.type !== 'pipe') unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) fail('empty command');
    return cmd;
  }

  function operandNode(): ArgNode | undefined {
    const node = term();
    if (!node) return undefined;
    if (peek().type !== 'field') return node;
    const chainPos = peek().pos;
    const fields: string[] = [];
    while (peek().type === 'field') fields.push(next().val.slice(1));
    switch (node.kind) {
      case 'field':
        return { kind: 'field', pos: chainPos, idents: [...node.idents, ...fields] };
      case 'variable':
        return { kind: 'variable', pos: chainPos, idents: [...node.idents, ...fields] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        return fail(`unexpected . after term ${JSON.stringify(nodeString(node))}`);
      default:
        return { kind: 'chain', pos: chainPos, node, fields };
    }
  }

  function term(): ArgNode | undefined {
    const t = nextNonSpace();
    switch (t.type) {
      case 'identifier':
        if (!hasFunction(t.val)) fail(`function ${JSON.stringify(t.val)} not defined`, t);
        return { kind: 'identifier', pos: t.pos, name: t.val };
      case 'dot':
        return { kind: 'dot', pos: t.pos };
      case 'nil':
        return { kind: 'nil', pos: t.pos };
      case 'variable': {
        const idents = t.val === '$' ? ['$'] : t.val.split('.');
        if (!vars.includes(idents[0]!)) fail(`undefined variable ${JSON.stringify(idents[0])}`, t);
        return { kind: 'variable', pos: t.pos, idents } satisfies VariableNode;
      }
      case 'field':
        return { kind: 'field', pos: t.pos, idents: [t.val.slice(1)] };
      case 'bool':
        return { kind: 'bool', pos: t.pos, value: t.val === 'true' };
      case 'charConstant':
      case 'number':
        try {
          return numberNode(t.pos, t.val, t.type === 'charConstant');
        } catch (e) {
          return fail((e as Error).message, t);
        }
      case 'leftParen':
        return pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString':
        return { kind: 'string', pos: t.pos, quoted: t.val, text: unquote(t) };
    }
    i--;
    return undefined;
  }
}
