// What renders.ts and rendersApp.tsx share (rendersApp is imported by renders.ts, never the reverse).
export const CLIENT_ID = "bench-renders";
export const REDIRECT_URI = "http://localhost:3000/callback";
