export { serviceGenerator, topicsOf } from './generators/service/generator.js';
export type { ServiceGeneratorOptions } from './generators/service/generator.js';
