// Parse tree nodes of a Go template and their Go String() forms (used in "executing ... at <…>").
import { quote } from './go-quote.js';
import type { GoFloat } from './value.js';

export interface ListNode {
  kind: 'list';
  pos: number;
  nodes: Node[];
}
export interface TextNode {
  kind: 'text';
  pos: number;
  text: string;
}
export interface CommentNode {
  kind: 'comment';
  pos: number;
}
export interface ActionNode {
  kind: 'action';
  pos: number;
  pipe: PipeNode;
}
export interface PipeNode {
  kind: 'pipe';
  pos: number;
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
export interface CommandNode {
  kind: 'command';
  pos: number;
  args: ArgNode[];
}
export interface FieldNode {
  kind: 'field';
  pos: number;
  idents: string[];
}
export interface VariableNode {
  kind: 'variable';
  pos: number;
  /** idents[0] is the variable name with its "$" */
  idents: string[];
}
export interface IdentifierNode {
  kind: 'identifier';
  pos: number;
  name: string;
}
export interface ChainNode {
  kind: 'chain';
  pos: number;
  node: ArgNode;
  fields: string[];
}
export interface DotNode {
  kind: 'dot';
  pos: number;
}
export interface NilNode {
  kind: 'nil';
  pos: number;
}
export interface BoolNode {
  kind: 'bool';
  pos: number;
  value: boolean;
}
export interface NumberNode {
  kind: 'number';
  pos: number;
  text: string;
  /** the value when the argument type is interface{} (Go's idealConstant) */
  ideal: number | GoFloat;
  /** set when the constant is an exact int64 */
  int?: number;
  /** set when the constant is representable as a float64 */
  float?: number;
}
export interface StringNode {
  kind: 'string';
  pos: number;
  quoted: string;
  text: string;
}
export type ArgNode = FieldNode | VariableNode | IdentifierNode | ChainNode | DotNode | NilNode | BoolNode | NumberNode | StringNode | PipeNode;

export interface BranchNode {
  kind: 'if' | 'with' | 'range';
  pos: number;
  pipe: PipeNode;
  list: ListNode;
  elseList?: ListNode;
}
export interface TemplateNode {
  kind: 'template';
  pos: number;
  name: string;
  pipe?: PipeNode;
}
export interface LoopControlNode {
  kind: 'break' | 'continue';
  pos: number;
}

export type Node = ListNode | TextNode | CommentNode | ActionNode | BranchNode | TemplateNode | LoopControlNode;
export type AnyNode = Node | ArgNode | CommandNode;

/** Go's Node.String() */
export function nodeString(n: AnyNode): string {
  switch (n.kind) {
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'text':
      return quote(n.text);
    case 'comment':
      return '{{/* */}}';
    case 'action':
      return '{{' + nodeString(n.pipe) + '}}';
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) {
        s = n.decl.map(nodeString).join(', ') + (n.isAssign ? ' = ' : ' := ');
      }
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.kind === 'pipe' ? '(' + nodeString(a) + ')' : nodeString(a))).join(' ');
    case 'field':
      return n.idents.map((i) => '.' + i).join('');
    case 'variable':
      return n.idents.join('.');
    case 'identifier':
      return n.name;
    case 'chain': {
      const head = n.node.kind === 'pipe' ? '(' + nodeString(n.node) + ')' : nodeString(n.node);
      return head + n.fields.map((f) => '.' + f).join('');
    }
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(n.value);
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'if':
    case 'with':
    case 'range': {
      let s = '{{' + n.kind + ' ' + nodeString(n.pipe) + '}}' + nodeString(n.list);
      if (n.elseList) s += '{{else}}' + nodeString(n.elseList);
      return s + '{{end}}';
    }
    case 'template':
      return '{{template ' + quote(n.name) + (n.pipe ? ' ' + nodeString(n.pipe) : '') + '}}';
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
  }
}

/** parse.IsEmptyTree: only whitespace text and comments. */
export function isEmptyTree(n: Node): boolean {
  switch (n.kind) {
    case 'list':
      return n.nodes.every(isEmptyTree);
    case 'text':
      return n.text.trim() === '';
    case 'comment':
      return true;
    default:
      return false;
  }
}
