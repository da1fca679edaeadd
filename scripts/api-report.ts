// The SDK's API report: every export of @tradewatch/sdk's root entry with its signature, and every type of the
// package those signatures reach (marked when it is not exported itself). Written to packages/sdk/api-report.md by
// `npm run gen`; test/api-report.unit.test.ts fails when the public surface changed and the report was not
// regenerated, so an API change is always a visible diff in review. Doc comments are left out of the report (they
// change without changing the API); that every export has one is checked separately.
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packageSrc = join(repoRoot, 'packages', 'sdk', 'src');
const entry = join(packageSrc, 'index.ts');

export const API_REPORT_PATH = 'packages/sdk/api-report.md';

export interface ApiReport {
  readonly content: string;
  /** Root exports whose declaration has no doc comment. */
  readonly undocumented: string[];
}

export function apiReport(): ApiReport {
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const printer = ts.createPrinter({ removeComments: true });
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType;

  const resolveAlias = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const inPackage = (decl: ts.Declaration) => decl.getSourceFile().fileName.startsWith(packageSrc);

  const exported = new Map<ts.Symbol, string>();
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) exported.set(resolveAlias(symbol), symbol.name);

  const sections: string[] = [];
  const seen = new Set<ts.Symbol>();
  const queue = [...exported.keys()];
  const undocumented: string[] = [];

  const enqueueReferences = (node: ts.Node) => {
    const visit = (n: ts.Node) => {
      let name: ts.Node | undefined;
      if (ts.isTypeReferenceNode(n)) name = n.typeName;
      else if (ts.isExpressionWithTypeArguments(n)) name = n.expression;
      else if (ts.isTypeQueryNode(n)) name = n.exprName;
      if (name) {
        const symbol = checker.getSymbolAtLocation(ts.isQualifiedName(name) ? name.left : name);
        const target = symbol && resolveAlias(symbol);
        if (target?.declarations?.some(inPackage) && !seen.has(target)) queue.push(target);
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
  };

  while (queue.length > 0) {
    const symbol = queue.shift()!;
    if (seen.has(symbol)) continue;
    seen.add(symbol);
    const decl = symbol.declarations?.find(inPackage);
    if (!decl || ts.isTypeParameterDeclaration(decl)) continue;
    const publicName = exported.get(symbol);
    if (publicName && ts.getJSDocCommentsAndTags(decl).length === 0) undocumented.push(publicName);
    const where = relative(join(repoRoot, 'packages', 'sdk'), decl.getSourceFile().fileName);
    const title = publicName ? `### ${publicName}` : `### ${symbol.name} (not exported; reached from the API)`;
    sections.push(`${title}\n\n\`${where}\`\n\n\`\`\`ts\n${render(symbol, decl)}\n\`\`\``);
    enqueueReferences(decl);
  }

  function render(symbol: ts.Symbol, decl: ts.Declaration): string {
    const sf = decl.getSourceFile();
    if (ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl)) {
      return printer.printNode(ts.EmitHint.Unspecified, decl, sf).replace(/^export /, '');
    }
    if (ts.isFunctionDeclaration(decl)) {
      const type = checker.getTypeOfSymbolAtLocation(symbol, decl);
      return type
        .getCallSignatures()
        .map((sig) => `function ${symbol.name}${checker.signatureToString(sig, decl, flags)};`)
        .join('\n');
    }
    if (ts.isClassDeclaration(decl)) return renderClass(symbol, decl);
    if (ts.isVariableDeclaration(decl)) {
      const type = checker.getTypeOfSymbolAtLocation(symbol, decl);
      const node = checker.typeToTypeNode(type, decl, ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.MultilineObjectLiterals)!;
      return `const ${symbol.name}: ${printer.printNode(ts.EmitHint.Unspecified, node, sf)};`;
    }
    return `${ts.SyntaxKind[decl.kind]} ${symbol.name}`;
  }

  function renderClass(symbol: ts.Symbol, decl: ts.ClassDeclaration): string {
    const heritage = (decl.heritageClauses ?? []).map((clause) => ` ${clause.getText()}`).join('');
    const lines = [`class ${symbol.name}${heritage} {`];
    for (const member of decl.members) {
      const modifiers = ts.getCombinedModifierFlags(member as ts.Declaration);
      if (modifiers & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
      if (member.name && ts.isPrivateIdentifier(member.name)) continue;
      const prefix = `${modifiers & ts.ModifierFlags.Static ? 'static ' : ''}${modifiers & ts.ModifierFlags.Readonly ? 'readonly ' : ''}`;
      if (ts.isConstructorDeclaration(member)) {
        const sig = checker.getSignatureFromDeclaration(member)!;
        lines.push(`  constructor${checker.signatureToString(sig, member, flags).replace(/: [^:]+$/, '')};`);
        for (const param of member.parameters) {
          if (ts.getCombinedModifierFlags(param) & ts.ModifierFlags.Public || ts.getCombinedModifierFlags(param) & ts.ModifierFlags.Readonly) {
            lines.push(`  readonly ${param.name.getText()}: ${checker.typeToString(checker.getTypeAtLocation(param), param, flags)};`);
          }
        }
      } else if (ts.isMethodDeclaration(member) || ts.isGetAccessorDeclaration(member)) {
        const sig = checker.getSignatureFromDeclaration(member)!;
        const text = checker.signatureToString(sig, member, flags);
        lines.push(ts.isGetAccessorDeclaration(member) ? `  ${prefix}get ${member.name.getText()}${text};` : `  ${prefix}${member.name.getText()}${text};`);
      } else if (ts.isPropertyDeclaration(member)) {
        const type = checker.typeToString(checker.getTypeAtLocation(member), member, flags);
        lines.push(`  ${prefix}${member.name.getText()}${member.questionToken ? '?' : ''}: ${type};`);
      }
    }
    lines.push('}');
    return lines.join('\n');
  }

  const content = [
    '# @tradewatch/sdk: API report',
    '',
    'Generated by `npm run gen` (scripts/api-report.ts) from `packages/sdk/src/index.ts`; never edit by hand.',
    'A diff here is a change of the public API: test/api-report.unit.test.ts fails until the report is regenerated.',
    '',
    `Exports: ${[...exported.values()].sort().join(', ')}.`,
    '',
    ...sections.map((section) => `${section}\n`),
  ].join('\n');
  return { content, undocumented: undocumented.sort() };
}
