import type { ProjectColor, ProjectRole } from '@stm/validators';
import { useId } from 'react';
import { type MessageKey, useI18n } from '../i18n';
import { COLOR_LABELS, type Label, PROJECT_COLORS, type Project } from './queries';

export const ROLE_LABELS: Record<ProjectRole, MessageKey> = {
  owner: 'projects.role.owner',
  editor: 'projects.role.editor',
  viewer: 'projects.role.viewer',
};

/** A project's colour as a dot beside its name; the name says it all to a screen reader. */
export function ColorDot({ color }: { color: ProjectColor }) {
  return <span className={`color-dot swatch-${color}`} aria-hidden="true" />;
}

/** A project's name as the reader knows it: their inbox is "Inbox" in their own language. */
export function useProjectName() {
  const { t } = useI18n();
  return (project: Pick<Project, 'name' | 'isInbox'>) => (project.isInbox ? t('projects.inbox') : project.name);
}

export function LabelChip({ label }: { label: Pick<Label, 'name' | 'color'> }) {
  return <span className={`chip chip-${label.color}`}>{label.name}</span>;
}

/** The palette as radio buttons: each swatch has its colour's name, shown on hover and read out. */
export function ColorPicker({ value, onChange, legend }: { value: ProjectColor; onChange(color: ProjectColor): void; legend: string }) {
  const { t } = useI18n();
  const name = useId();
  return (
    <fieldset className="color-picker">
      <legend>{legend}</legend>
      <div className="swatches">
        {PROJECT_COLORS.map((color) => (
          <label key={color} className="swatch-option" title={t(COLOR_LABELS[color])}>
            <input type="radio" name={name} value={color} checked={value === color} onChange={() => onChange(color)} />
            <span className={`swatch swatch-${color}`} aria-hidden="true" />
            <span className="visually-hidden">{t(COLOR_LABELS[color])}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
