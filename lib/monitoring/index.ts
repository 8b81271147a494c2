export * from './metrics';
export * from './target';
export * from './alerts';
export * from './scrape';
export * from './dashboard';
export * from './dashboard-layout';
export * from './flink-monitoring';
export * from './platform-dashboard';
