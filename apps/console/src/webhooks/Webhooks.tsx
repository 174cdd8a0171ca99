import { createGlobalWebhookInput, WEBHOOK_ADMIN_FAMILIES, WEBHOOK_PROJECT_EVENTS, WEBHOOK_PROJECT_FAMILIES, type WebhookEventType } from '@stm/validators';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Dialog } from '../components/Dialog';
import { Alert, Empty, Loading } from '../components/Feedback';
import { QueryRecords, RecordTable } from '../components/RecordTable';
import { Field } from '../components/Field';
import { Page } from '../components/Page';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { type RouterOutputs, trpcClient } from '../lib/trpc';
import { NewTokenSecret } from '../tokens/parts';

type Endpoint = RouterOutputs['webhooks']['list']['items'][number];
type Delivery = RouterOutputs['webhooks']['deliveries']['items'][number];

/** A project's webhooks (its owners), or the global ones (administrators). */
export type WebhookPlace = { projectId: number } | 'global';

/**
 * The two routers behind one face: a project's webhooks and the global ones take the same
 * calls, the project's with its id.
 */
function callsFor(place: WebhookPlace) {
  if (place === 'global') {
    const admin = trpcClient.admin.webhooks;
    return {
      list: () => admin.list.query(),
      create: (input: { url: string; description: string; eventTypes: WebhookEventType[] }) => admin.create.mutate(input),
      update: (id: number, changes: { active?: boolean }) => admin.update.mutate({ id, ...changes }),
      remove: (id: number) => admin.delete.mutate({ id }),
      rotate: (id: number) => admin.rotateSecret.mutate({ id }),
      test: (id: number) => admin.test.mutate({ id }),
      deliveries: (id: number) => admin.deliveries.query({ id, limit: 20 }),
      redeliver: (id: number, deliveryId: number) => admin.redeliver.mutate({ id, deliveryId }),
    };
  }
  const { projectId } = place;
  const hooks = trpcClient.webhooks;
  return {
    list: () => hooks.list.query({ projectId }),
    create: (input: { url: string; description: string; eventTypes: WebhookEventType[] }) => hooks.create.mutate({ projectId, ...input }),
    update: (id: number, changes: { active?: boolean }) => hooks.update.mutate({ projectId, id, ...changes }),
    remove: (id: number) => hooks.delete.mutate({ projectId, id }),
    rotate: (id: number) => hooks.rotateSecret.mutate({ projectId, id }),
    test: (id: number) => hooks.test.mutate({ projectId, id }),
    deliveries: (id: number) => hooks.deliveries.query({ projectId, id, limit: 20 }),
    redeliver: (id: number, deliveryId: number) => hooks.redeliver.mutate({ projectId, id, deliveryId }),
  };
}

function keyOf(place: WebhookPlace): unknown[] {
  return ['webhooks', place === 'global' ? 'global' : place.projectId];
}

/** Endpoints, a form to add one, and each one's delivery log. */
export function WebhooksPanel({ place }: { place: WebhookPlace }) {
  const { t, date } = useI18n();
  const toast = useToast();
  const queryClient = useQueryClient();
  const calls = callsFor(place);
  const endpoints = useQuery({ queryKey: keyOf(place), queryFn: calls.list });
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [removing, setRemoving] = useState<Endpoint | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: keyOf(place) });
  const fail = (error: unknown) => toast.show(describeError(error, t).message, 'error');
  const toggle = useMutation({
    mutationFn: (endpoint: Endpoint) => calls.update(endpoint.id, { active: !endpoint.active }),
    onError: fail,
    onSettled: refresh,
  });
  const rotate = useMutation({
    mutationFn: (endpoint: Endpoint) => calls.rotate(endpoint.id),
    onSuccess: (rotated) => setSecret(rotated.secret),
    onError: fail,
    onSettled: refresh,
  });
  const test = useMutation({
    mutationFn: (endpoint: Endpoint) => calls.test(endpoint.id),
    onSuccess: (delivery) =>
      toast.show(
        delivery.succeeded ? t('webhooks.testSucceeded') : t('webhooks.testFailed', { error: delivery.error ?? '' }),
        delivery.succeeded ? 'success' : 'error',
      ),
    onError: fail,
    onSettled: () => queryClient.invalidateQueries({ queryKey: [...keyOf(place), 'deliveries'] }),
  });
  const remove = useMutation({
    mutationFn: (endpoint: Endpoint) => calls.remove(endpoint.id),
    onSuccess: () => toast.show(t('webhooks.deleted')),
    onError: fail,
    onSettled: () => {
      setRemoving(null);
      return refresh();
    },
  });

  return (
    <div className="stack">
      <p className="muted">{t(place === 'global' ? 'webhooks.helpGlobal' : 'webhooks.help')}</p>
      {secret ? (
        <NewTokenSecret token={secret} onDone={() => setSecret(null)} />
      ) : (
        <CreateWebhookForm
          place={place}
          onCreated={(created) => {
            setSecret(created);
            void refresh();
          }}
        />
      )}
      <QueryRecords query={endpoints} items={endpoints.data?.items} empty={t('webhooks.empty')}>
        {(items) => (
          <RecordTable caption={t('webhooks.caption')} columns={[t('webhooks.url'), t('webhooks.events'), t('webhooks.state')]}>
            {items.map((endpoint) => (
              <tr key={endpoint.id}>
                <th scope="row" className="mono webhook-url">
                  {endpoint.url}
                  {endpoint.description ? <div className="muted">{endpoint.description}</div> : null}
                </th>
                <td>{endpoint.eventTypes.join(', ')}</td>
                <td>
                  {endpoint.active ? t('webhooks.active') : endpoint.disabledReason === 'failing' ? t('webhooks.disabledFailing') : t('webhooks.disabled')}
                  {endpoint.failingSince ? <div className="muted">{t('webhooks.failingSince', { when: date(endpoint.failingSince) })}</div> : null}
                  {endpoint.previousSecretExpiresAt ? (
                    <div className="muted">{t('webhooks.rotating', { when: date(endpoint.previousSecretExpiresAt) })}</div>
                  ) : null}
                </td>
                <td className="cell-actions webhook-actions">
                  <button type="button" className="btn" onClick={() => setOpen(open === endpoint.id ? null : endpoint.id)} aria-expanded={open === endpoint.id}>
                    {t(open === endpoint.id ? 'webhooks.hideLog' : 'webhooks.log')}
                  </button>{' '}
                  <button type="button" className="btn" disabled={test.isPending} onClick={() => test.mutate(endpoint)}>
                    {t('webhooks.test')}
                  </button>{' '}
                  <button type="button" className="btn" disabled={toggle.isPending} onClick={() => toggle.mutate(endpoint)}>
                    {t(endpoint.active ? 'webhooks.disable' : 'webhooks.enable')}
                  </button>{' '}
                  <button type="button" className="btn" disabled={rotate.isPending} onClick={() => rotate.mutate(endpoint)}>
                    {t('webhooks.rotate')}
                  </button>{' '}
                  <button type="button" className="btn btn-danger-outline" onClick={() => setRemoving(endpoint)}>
                    {t('webhooks.delete')}
                  </button>
                </td>
              </tr>
            ))}
          </RecordTable>
        )}
      </QueryRecords>
      {open !== null && endpoints.data?.items.some((endpoint) => endpoint.id === open) ? <DeliveryLog place={place} endpointId={open} /> : null}
      <ConfirmDialog
        open={removing !== null}
        title={t('webhooks.deleteTitle', { url: removing?.url ?? '' })}
        confirmLabel={t('webhooks.delete')}
        busy={remove.isPending}
        onCancel={() => setRemoving(null)}
        onConfirm={() => removing && remove.mutate(removing)}
      >
        <p>{t('webhooks.deleteBody')}</p>
      </ConfirmDialog>
    </div>
  );
}

function CreateWebhookForm({ place, onCreated }: { place: WebhookPlace; onCreated(secret: string): void }) {
  const { t } = useI18n();
  const toast = useToast();
  const calls = callsFor(place);
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [types, setTypes] = useState<WebhookEventType[]>(['task.*']);
  const [errors, setErrors] = useState<FieldErrors>({});
  const choices: WebhookEventType[] = [...WEBHOOK_PROJECT_FAMILIES, ...(place === 'global' ? WEBHOOK_ADMIN_FAMILIES : []), ...WEBHOOK_PROJECT_EVENTS];
  const create = useMutation({
    mutationFn: calls.create,
    onSuccess: (created) => {
      toast.show(t('webhooks.created'));
      setUrl('');
      setDescription('');
      onCreated(created.secret);
    },
  });
  function submit(event: SubmitEvent) {
    event.preventDefault();
    const checked = validate(createGlobalWebhookInput, { url, description, eventTypes: types }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) create.mutate(checked.data);
  }
  const shown = formErrors(['url', 'description', 'eventTypes'], errors, create.error ? describeError(create.error, t) : null);
  return (
    <form onSubmit={submit} noValidate className="form">
      <Field
        label={t('webhooks.url')}
        name="url"
        type="url"
        value={url}
        onValueChange={setUrl}
        error={shown.field('url')}
        hint={t('webhooks.urlHint')}
        required
      />
      <Field label={t('webhooks.description')} name="description" value={description} onValueChange={setDescription} error={shown.field('description')} />
      <fieldset className="webhook-events">
        <legend>{t('webhooks.events')}</legend>
        <div className="checks">
          {choices.map((type) => (
            <label key={type} className="check">
              <input
                type="checkbox"
                name="eventTypes"
                value={type}
                checked={types.includes(type)}
                onChange={(event) => setTypes(event.target.checked ? [...types, type] : types.filter((chosen) => chosen !== type))}
              />{' '}
              <span className="mono">{type}</span>
            </label>
          ))}
        </div>
        {shown.field('eventTypes') ? <p className="field-error">{shown.field('eventTypes')}</p> : null}
      </fieldset>
      <Alert message={shown.form} />
      <div>
        <button type="submit" className="btn btn-primary" disabled={create.isPending} aria-busy={create.isPending || undefined}>
          {t('webhooks.create')}
        </button>
      </div>
    </form>
  );
}

function DeliveryLog({ place, endpointId }: { place: WebhookPlace; endpointId: number }) {
  const { t, date } = useI18n();
  const toast = useToast();
  const queryClient = useQueryClient();
  const calls = callsFor(place);
  const key = [...keyOf(place), 'deliveries', endpointId];
  const deliveries = useQuery({ queryKey: key, queryFn: () => calls.deliveries(endpointId) });
  const redeliver = useMutation({
    mutationFn: (delivery: Delivery) => calls.redeliver(endpointId, delivery.id),
    onSuccess: (delivery) =>
      toast.show(
        delivery.succeeded ? t('webhooks.testSucceeded') : t('webhooks.testFailed', { error: delivery.error ?? '' }),
        delivery.succeeded ? 'success' : 'error',
      ),
    onError: (error) => toast.show(describeError(error, t).message, 'error'),
    onSettled: () => queryClient.invalidateQueries({ queryKey: key }),
  });
  if (deliveries.isPending) return <Loading />;
  if (deliveries.isError) return <Alert message={describeError(deliveries.error, t).message} />;
  if (deliveries.data.items.length === 0) return <Empty title={t('webhooks.noDeliveries')} />;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption>{t('webhooks.log')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('webhooks.when')}</th>
            <th scope="col">{t('webhooks.event')}</th>
            <th scope="col">{t('webhooks.result')}</th>
            <th scope="col">{t('webhooks.response')}</th>
            <th scope="col">
              <span className="visually-hidden">{t('common.actions')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {deliveries.data.items.map((delivery) => (
            <tr key={delivery.id}>
              <td>{date(delivery.createdAt)}</td>
              <td className="mono">
                {delivery.eventType}
                <div className="muted">{delivery.messageId}</div>
              </td>
              <td>
                {delivery.succeeded ? t('webhooks.succeeded') : t('webhooks.failed')} {delivery.httpStatus ?? ''} ·{' '}
                {t('webhooks.attempt', { n: delivery.attempt })} · {delivery.durationMs} ms{delivery.manual ? ` · ${t('webhooks.manual')}` : ''}
                {delivery.error ? <div className="muted">{delivery.error}</div> : null}
              </td>
              <td className="mono">{delivery.responseExcerpt?.slice(0, 200) ?? ''}</td>
              <td className="cell-actions">
                <button type="button" className="btn" disabled={redeliver.isPending} onClick={() => redeliver.mutate(delivery)}>
                  {t('webhooks.redeliver')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Project page → Webhooks (owners). */
export function WebhooksDialog({ project, onClose }: { project: { id: number; name: string }; onClose(): void }) {
  const { t } = useI18n();
  return (
    <Dialog open title={t('webhooks.title', { name: project.name })} onClose={onClose} wide>
      <WebhooksPanel place={{ projectId: project.id }} />
    </Dialog>
  );
}

/** Admin → Webhooks: the global ones. */
export function GlobalWebhooks() {
  const { t } = useI18n();
  return (
    <Page title={t('webhooks.globalTitle')}>
      <WebhooksPanel place="global" />
    </Page>
  );
}
