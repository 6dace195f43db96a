// Text building blocks for the generated Duru Notes dataset: multilingual titles, markdown bodies,
// email notes and metadata JSON. Everything is driven by the seeded Rng.
import type { Rng } from './prng';

const EMOJI = ['📝', '🚀', '✅', '💡', '📌', '🎯'] as const;
const ASCII = [
  'Meeting',
  'Notes',
  'Plan',
  'Ideas',
  'Roadmap',
  'Budget',
  'Review',
  'Draft',
  'Sprint',
  'Research',
  'Recipe',
  'Travel',
  'Reading list',
  'Backlog',
  'Retro',
  'Design',
  'Release',
  'Q3 goals',
] as const;
const TURKISH = [
  'Toplantı notları',
  'İş planı',
  'Çalışma',
  'Şubat özeti',
  'Öğle arası',
  'Işık',
  'Gündem',
  'Müşteri görüşmesi',
] as const;
const GERMAN = ['Übersicht', 'Größe', 'Straße', 'Prüfung', 'Äpfel kaufen', 'Besprechung', 'Fußnote'] as const;
const CJK = ['会议记录', '日本語', 'プロジェクト', '项目计划', '読書メモ', '周报'] as const;
const ARABIC = ['مرحبا', 'ملاحظات', 'اجتماع', 'خطة العمل'] as const;
const POOLS = [ASCII, ASCII, ASCII, TURKISH, GERMAN, CJK, ARABIC] as const;

const WORDS = [
  'the',
  'project',
  'deadline',
  'review',
  'client',
  'draft',
  'budget',
  'team',
  'update',
  'follow',
  'up',
  'with',
  'on',
  'before',
  'after',
  'release',
  'notes',
  'design',
  'api',
  'migration',
  'server',
  'call',
  'schedule',
  'idea',
  'todo',
  'check',
  'weekly',
  'and',
  'for',
  'a',
  'toplantı',
  'güncelleme',
  'Prüfung',
  'über',
  'größer',
  '会议',
  '計画',
  'مرحبا',
  'café',
  'naïve',
  'résumé',
] as const;
const VERBS = [
  'Call',
  'Email',
  'Write',
  'Review',
  'Fix',
  'Buy',
  'Plan',
  'Send',
  'Prepare',
  'Book',
  'Update',
  'Ara',
  'Prüfen',
] as const;
const OBJECTS = [
  'report',
  'invoice',
  'slides',
  'tickets',
  'dentist',
  'groceries',
  'flight',
  'release notes',
  'PR #42',
  'budget sheet',
  'Müller GmbH',
  'İstanbul ofisi',
  '会议纪要',
  'backup',
] as const;
export const FOLDER_ROOTS = [
  'Work',
  'Personal',
  'Archive',
  'Projects',
  'Ideas',
  'Reading',
  'Travel',
  'Finance',
  'Kişisel',
  'Büro',
] as const;
export const FOLDER_CHILDREN = [
  'Projects',
  'Meetings',
  '2023',
  '2024',
  '2025',
  'Clients',
  'Drafts',
  'Recipes',
  'Books',
  'Q1',
  'Q2',
  'Research',
  'Toplantılar',
  'Übungen',
  '日本',
  'Team',
  'Ops',
  'Health',
] as const;
export const FOLDER_COLORS = ['#FF5722', '#4CAF50', '#2196F3', '#9C27B0', '#FFC107', '#607D8B'] as const;
export const FOLDER_ICONS = ['folder', 'work', 'home', 'star', 'archive', 'book'] as const;
export const LABELS = ['work', 'home', 'urgent', 'waiting', 'errand', 'iş', 'größe', '重要', 'later'] as const;
const MIMES = [
  ['report.pdf', 'application/pdf'],
  ['photo.jpg', 'image/jpeg'],
  ['notes.txt', 'text/plain'],
  ['sheet.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
] as const;
const PEOPLE = [
  'alice@example.com',
  'bob@example.org',
  'ayşe.yılmaz@example.com.tr',
  'jürgen@example.de',
  'noreply@service.example',
] as const;

export function title(rng: Rng, n: number): string {
  const parts: string[] = [];
  if (rng.chance(0.25)) parts.push(rng.pick(EMOJI));
  parts.push(rng.pick(rng.pick(POOLS)));
  if (rng.chance(0.4)) parts.push(rng.pick(rng.pick(POOLS)));
  if (rng.chance(0.5)) parts.push(`#${n}`);
  return parts.join(' ');
}

export function sentence(rng: Rng, min = 5, max = 16): string {
  const n = rng.int(min, max);
  const w: string[] = [];
  for (let i = 0; i < n; i++) {
    const word = rng.pick(WORDS);
    const r = rng.next();
    w.push(r < 0.05 ? `\`${word}()\`` : r < 0.09 ? `**${word}**` : word);
  }
  const s = w.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1) + '.';
}

export function taskContent(rng: Rng): string {
  return `${rng.pick(VERBS)} ${rng.pick(OBJECTS)}${rng.chance(0.3) ? ' ' + rng.pick(EMOJI) : ''}`;
}

function block(rng: Rng, linkTitles: readonly string[]): string {
  switch (rng.weighted([3, 5, 3, 2, 2, 1, 2, 1])) {
    case 0:
      return `${'#'.repeat(rng.int(1, 3))} ${rng.pick(rng.pick(POOLS))}`;
    case 1:
      return [sentence(rng), sentence(rng)].join(' ');
    case 2: {
      const lines: string[] = [];
      for (let i = rng.int(2, 5); i > 0; i--) lines.push(`- [${rng.chance(0.4) ? 'x' : ' '}] ${taskContent(rng)}`);
      return lines.join('\n');
    }
    case 3: {
      const lines: string[] = [];
      const numbered = rng.chance(0.5);
      for (let i = 1, n = rng.int(2, 5); i <= n; i++) lines.push(`${numbered ? `${i}.` : '-'} ${sentence(rng, 2, 6)}`);
      return lines.join('\n');
    }
    case 4: {
      const rows = ['| Item | Owner | Status |', '| --- | --- | --- |'];
      for (let i = rng.int(1, 4); i > 0; i--)
        rows.push(
          `| ${rng.pick(OBJECTS)} | ${rng.pick(PEOPLE).split('@')[0]} | ${rng.pick(['open', 'done', '✅', 'bekliyor'])} |`,
        );
      return rows.join('\n');
    }
    case 5:
      return '```ts\nconst x = ' + rng.int(0, 999) + ';\nconsole.log(`value: ${x}`);\n```';
    case 6:
      return `See [[${linkTitles.length > 0 && rng.chance(0.8) ? rng.pick(linkTitles) : 'Some Title'}]] for details. ${sentence(rng, 3, 8)}`;
    default:
      return `> ${sentence(rng)}`;
  }
}

/** A markdown body of roughly 100 B – 4 KB (skewed towards small notes). */
export function markdownBody(rng: Rng, linkTitles: readonly string[]): string {
  const bucket = rng.weighted([78, 18, 4]);
  const target = bucket === 0 ? rng.int(100, 600) : bucket === 1 ? rng.int(600, 2200) : rng.int(2200, 3600);
  const out: string[] = [];
  let len = 0;
  while (len < target) {
    const b = block(rng, linkTitles);
    out.push(b);
    len += Buffer.byteLength(b) + 2;
  }
  return out.join('\n\n');
}

export interface EmailNote {
  title: string;
  body: string;
  metadata: string;
}

export function emailNote(rng: Rng, ts: number, n: number): EmailNote {
  const from = rng.pick(PEOPLE);
  const to = rng.pick(PEOPLE);
  const subject = title(rng, n);
  const date = new Date(ts * 1000).toUTCString();
  const text = [sentence(rng), sentence(rng), sentence(rng)];
  const body = [`From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Received: ${date}`, '', ...text].join('\n');
  const attachments = [];
  for (let i = rng.int(0, 2); i > 0; i--) {
    const [name, mime] = rng.pick(MIMES);
    attachments.push({ name, size: rng.int(200, 5_000_000), mime });
  }
  const metadata = JSON.stringify({
    source: 'email',
    from,
    to,
    subject,
    received_at: new Date(ts * 1000).toISOString(),
    html: `<p>${text.join('</p><p>')}</p>`,
    attachments,
  });
  return { title: `✉️ ${subject}`, body, metadata };
}

export function otherMetadata(rng: Rng, ts: number): string {
  switch (rng.int(0, 3)) {
    case 0:
      return JSON.stringify({ source: 'web', url: `https://example.com/article/${rng.int(1, 99999)}`, clipped_at: ts });
    case 1:
      return JSON.stringify({
        source: 'voice',
        duration_seconds: rng.int(5, 600),
        language: rng.pick(['en', 'tr', 'de', 'ja']),
      });
    case 2:
      return JSON.stringify({ attachments: [{ name: 'scan.png', size: rng.int(1000, 900000), mime: 'image/png' }] });
    default:
      return JSON.stringify({
        source: 'share',
        app: rng.pick(['Safari', 'Chrome', 'Files']),
        tags: [rng.pick(LABELS)],
      });
  }
}
