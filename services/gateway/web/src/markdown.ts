// A small markdown renderer for enrichment results (summaries, lecture notes, clean-ups):
// headings, paragraphs, nested lists, quotes, code, rules, **bold**, *italic*, `code` and
// http(s) links. It builds DOM nodes and only ever sets text, never HTML, so whatever a
// chat model writes — <script>, <img onerror>, javascript: links — shows as plain text.

/** Renders `text` into a DocumentFragment. */
export function renderMarkdown(text: string): DocumentFragment {
  const out = document.createDocumentFragment();
  const lines = String(text).replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (/^\s*$/.test(line)) {
      i++;
    } else if (/^\s*```/.test(line)) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !/^\s*```/.test(lines[i]!)) code.push(lines[i++]!);
      i++; // the closing fence (or the end)
      const pre = document.createElement('pre');
      const el = document.createElement('code');
      el.textContent = code.join('\n');
      pre.append(el);
      out.append(pre);
    } else if (/^#{1,6}\s/.test(line)) {
      const level = /^#+/.exec(line)![0].length;
      const h = document.createElement(`h${Math.min(6, level + 2)}`);
      appendInline(h, line.replace(/^#+\s+/, '').replace(/\s+#+\s*$/, ''));
      out.append(h);
      i++;
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.append(document.createElement('hr'));
      i++;
    } else if (/^\s*>/.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i]!))
        quoted.push(lines[i++]!.replace(/^\s*>\s?/, ''));
      const q = document.createElement('blockquote');
      q.append(renderMarkdown(quoted.join('\n')));
      out.append(q);
    } else if (LIST_ITEM.test(line)) {
      const items: string[] = [];
      while (i < lines.length && (LIST_ITEM.test(lines[i]!) || isContinuation(lines[i]!))) {
        if (LIST_ITEM.test(lines[i]!)) items.push(lines[i]!);
        else if (items.length) items[items.length - 1] += ` ${lines[i]!.trim()}`;
        i++;
      }
      out.append(renderList(items));
    } else {
      const para: string[] = [];
      while (i < lines.length && !/^\s*$/.test(lines[i]!) && !startsBlock(lines[i]!)) {
        para.push(lines[i++]!.trim());
      }
      const p = document.createElement('p');
      appendInline(p, para.join(' '));
      out.append(p);
    }
  }
  return out;
}

const LIST_ITEM = /^(\s*)([-*+]|\d+[.)])\s+/;

function isContinuation(line: string): boolean {
  return /^\s{2,}\S/.test(line) && !LIST_ITEM.test(line);
}

function startsBlock(line: string): boolean {
  return /^(#{1,6}\s|\s*```|\s*>)/.test(line) || LIST_ITEM.test(line);
}

/** Lines of list items, nested by indentation, into <ul>/<ol> elements. */
interface ListNode {
  indent: number;
  ordered: boolean;
  text: string;
  children: ListNode[];
}

function renderList(items: string[]): HTMLElement {
  const root: ListNode = { indent: -1, ordered: false, text: '', children: [] };
  const stack = [root];
  for (const item of items) {
    const [, spaces = '', marker = ''] = LIST_ITEM.exec(item)!;
    const indent = spaces.replace(/\t/g, '    ').length;
    while (stack.length > 1 && indent <= stack[stack.length - 1]!.indent) stack.pop();
    const parent = stack[stack.length - 1]!;
    const node: ListNode = {
      indent,
      ordered: /\d/.test(marker),
      text: item.replace(LIST_ITEM, ''),
      children: [],
    };
    parent.children.push(node);
    stack.push(node);
  }
  return listOf(root.children);
}

function listOf(nodes: ListNode[]): HTMLElement {
  const list = document.createElement(nodes[0]!.ordered ? 'ol' : 'ul');
  for (const node of nodes) {
    const li = document.createElement('li');
    appendInline(li, node.text);
    if (node.children.length) li.append(listOf(node.children));
    list.append(li);
  }
  return list;
}

// `code`, **bold**, __bold__, *italic*, _italic_, [text](http(s)://…), in that order of precedence.
const INLINE =
  /`([^`]+)`|\*\*(.+?)\*\*|__(.+?)__|\*([^*\s](?:[^*]*[^*\s])?)\*|\b_([^_]+)_\b|\[([^\]]+)\]\(([^)\s]+)\)/;

/** Appends `text` with its inline markup to `parent`, as text nodes and elements. */
function appendInline(parent: Node & ParentNode, text: string): void {
  let rest = text;
  for (;;) {
    const m = INLINE.exec(rest);
    if (!m) break;
    if (m.index > 0) parent.append(rest.slice(0, m.index));
    if (m[1] !== undefined) {
      const code = document.createElement('code');
      code.textContent = m[1];
      parent.append(code);
    } else if (m[2] !== undefined || m[3] !== undefined) {
      const strong = document.createElement('strong');
      appendInline(strong, m[2] ?? m[3] ?? '');
      parent.append(strong);
    } else if (m[4] !== undefined || m[5] !== undefined) {
      const em = document.createElement('em');
      appendInline(em, m[4] ?? m[5] ?? '');
      parent.append(em);
    } else if (/^https?:\/\//i.test(m[7] ?? '')) {
      const a = document.createElement('a');
      a.href = m[7]!;
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      appendInline(a, m[6] ?? '');
      parent.append(a);
    } else {
      parent.append(m[0]); // not a web link (javascript:, data:…): its text, as written
    }
    rest = rest.slice(m.index + m[0].length);
  }
  if (rest) parent.append(rest);
}
