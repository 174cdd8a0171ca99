import type { AppRouter } from '@stm/api/router';
import { TRPCClientError } from '@trpc/client';
import type { inferRouterError, inferRouterInputs, inferRouterOutputs } from '@trpc/server';

/** What the API takes and returns, straight from its router's type (nothing is generated). */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type ApiError = TRPCClientError<AppRouter>;
/** The stable refusal codes the API sends as `data.reason`. */
export type ErrorReason = NonNullable<inferRouterError<AppRouter>['data']['reason']>;

export function isApiError(error: unknown): error is ApiError {
  return error instanceof TRPCClientError;
}

export function httpStatusOf(error: unknown): number | undefined {
  return isApiError(error) ? error.data?.httpStatus : undefined;
}
