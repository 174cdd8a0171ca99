import { prepareTestTemplate, type TestTemplate } from '@stm/db/testing';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    dbTemplate: TestTemplate;
  }
}

/**
 * Migrates one template database for the project's driver; every test file then clones its own
 * database from it, so files run in parallel and never see each other's rows.
 */
export default async function setup(project: TestProject) {
  const driver = project.config.env?.STM_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
  const { template, dispose } = await prepareTestTemplate(driver, process.env.TEST_DATABASE_URL);
  project.provide('dbTemplate', template);
  return dispose;
}
