export { checkEnvironment } from './env-check.js';
export type { EnvironmentProblems } from './env-check.js';
export { readTerraformFolder, references } from './terraform.js';
export type { TerraformBlock, TerraformFolder } from './terraform.js';
