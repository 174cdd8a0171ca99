import { COMMENT_MAX, createCommentInput, updateCommentInput } from '@stm/validators';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, Fragment, useId, useState } from 'react';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Alert, Empty, Loading } from '../components/Feedback';
import { Control } from '../components/Field';
import { LoadFailed, StaleNotice, LoadMore, usePagedItems } from '../components/PagedList';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { useMe } from '../lib/auth';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { type RouterOutputs, useTRPC } from '../lib/trpc';

type Comment = RouterOutputs['comments']['list']['items'][number];

const COMMENT_PAGE = 50;

/** A comment's text as written, the members it mentions set apart; never read as markup. */
function CommentText({ comment }: { comment: Comment }) {
  const names = new Set(comment.mentions.map((mention) => mention.username.toLowerCase()));
  if (names.size === 0) return <p className="comment-body">{comment.body}</p>;
  const parts = comment.body.split(/(@[A-Za-z0-9_.-]+)/);
  return (
    <p className="comment-body">
      {parts.map((part, index) => {
        const name = part.startsWith('@')
          ? part
              .slice(1)
              .replace(/[._-]+$/, '')
              .toLowerCase()
          : '';
        return names.has(name) ? (
          <strong key={index} className="mention">
            {part}
          </strong>
        ) : (
          <Fragment key={index}>{part}</Fragment>
        );
      })}
    </p>
  );
}

function useCommentsRefresh() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => Promise.all([queryClient.invalidateQueries(trpc.comments.list.pathFilter()), queryClient.invalidateQueries(trpc.tasks.history.pathFilter())]);
}

/** One comment as a small form: a new one, or an edit of one. */
function CommentForm({ taskId, comment, onDone }: { taskId: number; comment: Comment | null; onDone(): void }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const refresh = useCommentsRefresh();
  const [body, setBody] = useState(comment?.body ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const finish = () => {
    setBody('');
    onDone();
  };
  const create = useMutation(trpc.comments.create.mutationOptions({ onSuccess: finish, onSettled: () => refresh() }));
  const update = useMutation(trpc.comments.update.mutationOptions({ onSuccess: finish, onSettled: () => refresh() }));
  const mutation = comment ? update : create;

  function submit(event: SubmitEvent) {
    event.preventDefault();
    if (comment) {
      const checked = validate(updateCommentInput, { id: comment.id, body, expectedVersion: comment.version }, t);
      setErrors(checked.ok ? {} : checked.errors);
      if (checked.ok) update.mutate(checked.data);
      return;
    }
    const checked = validate(createCommentInput, { taskId, body }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) create.mutate(checked.data);
  }

  const shown = formErrors(['body'] as const, errors, mutation.error ? describeError(mutation.error, t) : null);
  return (
    <form onSubmit={submit} noValidate className="form comment-form">
      <Control label={comment ? t('comments.editLabel') : t('comments.newLabel')} error={shown.field('body')} hint={comment ? undefined : t('comments.hint')}>
        {(control) => <textarea {...control} name="body" rows={3} maxLength={COMMENT_MAX} value={body} onChange={(event) => setBody(event.target.value)} />}
      </Control>
      <Alert message={shown.form} />
      <div className="form-actions">
        {comment ? (
          <button type="button" className="btn btn-small" onClick={onDone} disabled={mutation.isPending}>
            {t('common.cancel')}
          </button>
        ) : null}
        <button type="submit" className="btn btn-small btn-primary" disabled={mutation.isPending} aria-busy={mutation.isPending || undefined}>
          {comment ? t('comments.save') : t('comments.add')}
        </button>
      </div>
    </form>
  );
}

/**
 * A task's comments, oldest first, and a form to add one. Their authors change their own; an
 * owner of the project (or an administrator) may remove anyone's.
 */
export function Comments({ taskId, canWrite, canModerate }: { taskId: number; canWrite: boolean; canModerate: boolean }) {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const toast = useToast();
  const me = useMe();
  const refresh = useCommentsRefresh();
  const headingId = useId();
  const list = useInfiniteQuery(trpc.comments.list.infiniteQueryOptions({ taskId, limit: COMMENT_PAGE }, { getNextPageParam: (last) => last.nextCursor }));
  const comments = usePagedItems(list.data);
  const [editing, setEditing] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<Comment | null>(null);
  const remove = useMutation(
    trpc.comments.delete.mutationOptions({
      onSuccess: () => toast.show(t('comments.deleted')),
      onError: (error) => toast.show(describeError(error, t).message, 'error'),
      onSettled: () => {
        setDeleting(null);
        return refresh();
      },
    }),
  );

  let body;
  if (list.isPending) body = <Loading />;
  else if (list.isError && !list.data) body = <LoadFailed error={list.error} onRetry={() => void list.refetch()} />;
  else if (comments.length === 0) body = <Empty title={t('comments.empty')} />;
  else {
    body = (
      <ol className="comment-list">
        {comments.map((comment) => {
          const own = comment.author?.id === me.data?.id;
          const mayChange = canWrite && (own || canModerate);
          return (
            <li key={comment.id} className="comment">
              <p className="comment-meta">
                <strong>{comment.author?.username ?? t('comments.deletedAccount')}</strong>{' '}
                <time dateTime={comment.createdAt}>{dateTime(comment.createdAt)}</time>
                {comment.edited ? <span className="muted"> · {t('comments.edited')}</span> : null}
              </p>
              {editing === comment.id ? (
                <CommentForm taskId={taskId} comment={comment} onDone={() => setEditing(null)} />
              ) : (
                <>
                  <CommentText comment={comment} />
                  {mayChange ? (
                    <p className="comment-actions">
                      {own ? (
                        <button type="button" className="btn-link" onClick={() => setEditing(comment.id)}>
                          {t('comments.edit')}
                        </button>
                      ) : null}
                      <button type="button" className="btn-link danger" onClick={() => setDeleting(comment)}>
                        {t('comments.delete')}
                      </button>
                    </p>
                  ) : null}
                </>
              )}
            </li>
          );
        })}
      </ol>
    );
  }

  return (
    <section className="panel-section" aria-labelledby={headingId}>
      <h3 id={headingId}>{t('comments.title')}</h3>
      <StaleNotice query={list} />
      {body}
      <LoadMore list={list} />
      {canWrite ? <CommentForm taskId={taskId} comment={null} onDone={() => {}} /> : null}
      <ConfirmDialog
        open={deleting !== null}
        title={t('comments.deleteTitle')}
        confirmLabel={t('comments.delete')}
        busy={remove.isPending}
        onCancel={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate({ id: deleting.id })}
      >
        <p>{t('comments.deleteBody')}</p>
      </ConfirmDialog>
    </section>
  );
}
